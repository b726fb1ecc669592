"""workbench.sidebar: the compute device label and the app icon, drawn without fetching anything."""

from __future__ import annotations

from workbench import sidebar


def test_device_label_names_the_device():
    assert sidebar.device_label().split(" ")[0] in ("CPU", "CUDA", "MPS")


def test_app_icon_is_drawn_locally():
    icon = sidebar.app_icon()
    assert icon.size == (64, 64) and icon.mode == "RGBA"
    assert icon.getpixel((14, 40))[3] == 255 and icon.getpixel((0, 0))[3] == 0
