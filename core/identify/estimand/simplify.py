"""Smart constructors of estimands, simplifying with exact identities only.

Assuming, as identification does, that every conditioning event has positive probability:

* sum_{w} f g(w) = f sum_{w} g(w)                                  (constants leave the sum)
* sum_{w} P(A | C) = P(A \\ w | C) when w in A and w appears in no other factor
* P(A | B, C) P(B | C) = P(A, B | C)                                (chain rule)
* f g / (f h) = g / h;  P(A, B | C) / P(B | C) = P(A | B, C);  P(vars = {} | C) = 1
* products and sums flatten; a product of fractions becomes one fraction (so chains telescope).

A sum over a variable that appears nowhere in its body is NOT dropped: sum_{w} f = |W| f.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.identify.estimand.tree import ONE, Estimand, Fraction, One, P, Product, Sum


def p(vars: Iterable[str], given: Iterable[str] = ()) -> Estimand:
    """P(vars | given); variables listed in both are dropped from ``given``; no vars -> One."""
    vs = tuple(dict.fromkeys(vars))
    if not vs:
        return ONE
    gs = tuple(g for g in dict.fromkeys(given) if g not in vs)
    return P(vs, gs)


def product_of(factors: Iterable[Estimand]) -> Estimand:
    """Flattened product with chain-rule merging; a product containing fractions becomes one fraction."""
    flat: list[Estimand] = []
    for f in factors:
        if isinstance(f, Product):
            flat.extend(f.of)
        elif not isinstance(f, One):
            flat.append(f)
    if any(isinstance(f, Fraction) for f in flat):
        nums = [f.num if isinstance(f, Fraction) else f for f in flat]
        dens = [f.den for f in flat if isinstance(f, Fraction)]
        return fraction_of(product_of(nums), product_of(dens))
    flat = _merge_chain_rule(flat)
    if not flat:
        return ONE
    if len(flat) == 1:
        return flat[0]
    return Product(tuple(flat))


def _merge_chain_rule(factors: list[Estimand]) -> list[Estimand]:
    """P(A | B, C) P(B | C) -> P(B, A | C), repeatedly.  Exact.

    A worklist over two indexes (factors by scope = vars u given, and by given) keeps this linear in
    the number of merges rather than rescanning the product after each one."""
    out: list[Estimand | None] = list(factors)
    by_scope: dict[frozenset[str], set[int]] = {}
    by_given: dict[frozenset[str], set[int]] = {}
    for i, f in enumerate(out):
        if isinstance(f, P):
            by_scope.setdefault(f.free, set()).add(i)
            by_given.setdefault(f.given_set, set()).add(i)
    work = [i for i in range(len(out) - 1, -1, -1) if isinstance(out[i], P) and out[i].given]
    while work:
        i = work.pop()
        f = out[i]
        if not isinstance(f, P) or not f.given:
            continue
        candidates = by_scope.get(f.given_set)
        partner = min((j for j in candidates if j != i), default=None) if candidates else None
        if partner is None:
            continue
        g = out[partner]
        assert isinstance(g, P)
        # g = P(B | C) with B u C = given(f); f = P(A | B, C)  ->  P(B, A | C), at the earlier place
        merged = P(g.vars + f.vars, g.given)
        keep, drop = min(i, partner), max(i, partner)
        for k, old in ((i, f), (partner, g)):
            by_scope[old.free].discard(k)
            by_given[old.given_set].discard(k)
        out[drop] = None
        out[keep] = merged
        by_scope.setdefault(merged.free, set()).add(keep)
        by_given.setdefault(merged.given_set, set()).add(keep)
        work.append(keep)
        work.extend(by_given.get(merged.free, ()))
    return [f for f in out if f is not None]


def sum_of(over: Iterable[str], body: Estimand) -> Estimand:
    """sum_{over} body, simplified: constants leave the sum, marginals of P terms are taken,
    independent groups of summed variables become separate sums."""
    over_t = tuple(dict.fromkeys(over))
    if not over_t:
        return body
    unused = tuple(v for v in over_t if v not in body.free)
    over_set = set(over_t) - set(unused)
    if unused:
        # sum_{w} f = |W| f: keep it exact (the recursion never builds one of these).
        inner = sum_of([v for v in over_t if v in over_set], body)
        return Sum(unused, inner)
    if isinstance(body, Sum) and not (set(body.over) & over_set):
        return sum_of(tuple(over_t) + body.over, body.of)
    if isinstance(body, Fraction) and not (body.den.free & over_set):
        return fraction_of(sum_of(over_t, body.num), body.den)
    factors = list(body.of) if isinstance(body, Product) else [body]
    outside = [f for f in factors if not (f.free & over_set)]
    inside = [f for f in factors if f.free & over_set]
    over_left = [v for v in over_t if v in over_set]
    # Marginalise: a summed variable that is a head of exactly one P factor and appears nowhere else.
    changed = True
    while changed:
        changed = False
        for v in list(over_left):
            users = [i for i, f in enumerate(inside) if v in f.free]
            if len(users) == 1:
                f = inside[users[0]]
                if isinstance(f, P) and v in f.vars:
                    inside[users[0]] = p([u for u in f.vars if u != v], f.given)
                    over_left.remove(v)
                    changed = True
        inside = [f for f in inside if not isinstance(f, One)]
    if not over_left:
        return product_of(outside + inside)
    groups = _connected_groups(over_left, inside)
    sums = []
    for group_vars, group_factors in groups:
        g_body = product_of(group_factors) if len(group_factors) != 1 else group_factors[0]
        sums.append(Sum(tuple(group_vars), g_body))
    rest = [f for f in inside if not any(f.free & set(gv) for gv, _ in groups)]
    return _product_no_merge(outside + rest + sums)


def _product_no_merge(factors: list[Estimand]) -> Estimand:
    flat = [f for f in factors if not isinstance(f, One)]
    if any(isinstance(f, Fraction) for f in flat):
        return product_of(flat)
    if not flat:
        return ONE
    if len(flat) == 1:
        return flat[0]
    return Product(tuple(_merge_chain_rule(flat)))


def _connected_groups(over: list[str], factors: list[Estimand]) -> list[tuple[list[str], list[Estimand]]]:
    """Split summed variables into groups that share no factor (each group is its own sum)."""
    groups: list[tuple[list[str], list[Estimand]]] = []
    left = list(over)
    used: set[int] = set()
    while left:
        seed = left[0]
        vars_ = {seed}
        idx: set[int] = set()
        grew = True
        while grew:
            grew = False
            for i, f in enumerate(factors):
                if i not in idx and f.free & vars_:
                    idx.add(i)
                    new = (f.free & set(left)) - vars_
                    if new:
                        vars_ |= new
                    grew = True
        groups.append(([v for v in left if v in vars_], [factors[i] for i in sorted(idx)]))
        used |= idx
        left = [v for v in left if v not in vars_]
    return groups


def fraction_of(num: Estimand, den: Estimand) -> Estimand:
    """num / den with common factors cancelled and P(A, B | C) / P(B | C) -> P(A | B, C)."""
    if isinstance(num, Fraction):
        return fraction_of(num.num, product_of([num.den, den]))
    if isinstance(den, Fraction):
        return fraction_of(product_of([num, den.den]), den.num)
    if isinstance(den, One):
        return num
    nums = list(num.of) if isinstance(num, Product) else ([] if isinstance(num, One) else [num])
    dens = list(den.of) if isinstance(den, Product) else [den]
    # Cancel common factors (as multisets).
    for d in list(dens):
        if d in nums:
            nums.remove(d)
            dens.remove(d)
    # Conditionalise: P(A | C) ... / P(B | C) with B a subset of A -> P(A \ B | B, C) ...
    changed = True
    while changed:
        changed = False
        for d in dens:
            if not isinstance(d, P):
                continue
            for i, n in enumerate(nums):
                if isinstance(n, P) and n.given_set == d.given_set and d.var_set <= n.var_set:
                    nums[i] = p([v for v in n.vars if v not in d.vars], d.vars + d.given)
                    dens.remove(d)
                    changed = True
                    break
            if changed:
                break
    num_e = product_of(nums)
    if not dens:
        return num_e
    den_e = product_of(dens)
    if isinstance(den_e, One):
        return num_e
    return Fraction(num_e, den_e)

