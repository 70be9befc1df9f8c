"""A layered (Sugiyama-style) layout of a directed acyclic graph of boxes.

Used by ``plot_model`` to draw models without graphviz:

1. ranks: the longest path from the sources, then nodes with no more inputs than
   consumers pulled down to just above their first consumer (a late second input
   sits next to where it is used);
2. edges spanning several ranks pass through one small dummy node per rank;
3. crossing reduction: barycenter sweeps down and up the ranks, each followed by swaps
   of neighbours that remove crossings, keeping the order with the fewest crossings;
   the members of a cluster (a nested model) stay contiguous;
4. coordinates: per rank, the positions closest (least squares) to the mean position
   of each node's neighbours, subject to the rank's order and spacing (an isotonic
   regression, solved by pool-adjacent-violators), in alternating sweeps;
5. edge routes: from a port on the source's side facing the next rank, through the
   dummy nodes, to a port on the target; several edges at one side are spread along it.

Everything is computed in "rank space" (rank axis down, order axis across) and mapped to
``x``/``y`` at the end: ``rankdir="TB"`` draws ranks top to bottom, ``"LR"`` left to right.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NODE_GAP = 28.0      # space between neighbours in a rank
RANK_GAP = 56.0      # space between ranks
CLUSTER_PAD = 14.0   # space between a cluster's frame and its members
CLUSTER_LABEL = 22.0  # room for a cluster's name above its members
MARGIN = 16.0
SWEEPS = 12


@dataclass
class Layout:
    """Where things go: ``boxes[node] = (x, y, width, height)`` (top-left corner),
    ``edges[i]`` the points of edge ``i`` in the order given, ``clusters[name] = (x, y,
    width, height)``, and the size of the whole drawing."""

    boxes: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)
    clusters: dict = field(default_factory=dict)
    width: float = 0.0
    height: float = 0.0


def layout(sizes: dict, edges: list, clusters: dict | None = None,
           rankdir: str = "TB") -> Layout:
    """Lays out a DAG.

    Args:
        sizes: ``node -> (width, height)``, in the order nodes should prefer (a
            topological order gives the calmest drawing).
        edges: ``(source, target)`` pairs between keys of ``sizes``.
        clusters: ``node -> tuple of cluster names``, outermost first, for nodes drawn
            inside (nested) frames; others are at the top level.
        rankdir: ``"TB"`` (top to bottom) or ``"LR"`` (left to right).
    """
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be 'TB' or 'LR'; received {rankdir!r}.")
    clusters = clusters or {}
    across, along = (0, 1) if rankdir == "TB" else (1, 0)
    breadth = {n: float(s[across]) for n, s in sizes.items()}
    depth_of = {n: float(s[along]) for n, s in sizes.items()}
    path = {n: tuple(clusters.get(n, ())) for n in sizes}

    rank = _ranks(list(sizes), edges)
    # Long edges become chains through dummy nodes, one per rank crossed.
    chains, succ, pred = [], {n: [] for n in sizes}, {n: [] for n in sizes}
    for i, (u, v) in enumerate(edges):
        chain = [u]
        common = _common_prefix(path[u], path[v])
        for r in range(rank[u] + 1, rank[v]):
            dummy = ("dummy", i, r)
            rank[dummy], breadth[dummy], depth_of[dummy], path[dummy] = r, 0.0, 0.0, common
            succ[dummy], pred[dummy] = [], []
            chain.append(dummy)
        chain.append(v)
        for a, b in zip(chain, chain[1:]):
            succ[a].append(b)
            pred[b].append(a)
        chains.append(chain)

    n_ranks = max(rank.values(), default=-1) + 1
    ranks = [[] for _ in range(n_ranks)]
    for n in rank:  # insertion order: nodes as given, then dummies
        ranks[rank[n]].append(n)
    ranks = _reduce_crossings(ranks, succ, pred, path)

    max_nesting = max((len(p) for p in path.values()), default=0)
    gap = RANK_GAP + (CLUSTER_PAD + CLUSTER_LABEL) * max_nesting
    centre = _coordinates(ranks, succ, pred, breadth, path)
    _clear_cluster_frames(ranks, centre, breadth, path)

    # Rank positions: each rank as deep as its deepest box.
    top, offset = {}, MARGIN + (CLUSTER_PAD + CLUSTER_LABEL) * max_nesting
    rank_depth = []
    for nodes in ranks:
        d = max((depth_of[n] for n in nodes), default=0.0)
        rank_depth.append(d)
        for n in nodes:
            top[n] = offset + (d - depth_of[n]) / 2
        offset += d + gap

    low = min((centre[n] - breadth[n] / 2 for n in centre), default=0.0)
    shift = MARGIN + CLUSTER_PAD * max_nesting - low
    for n in centre:
        centre[n] += shift

    out = Layout()
    for n in sizes:
        out.boxes[n] = _to_xy((centre[n] - breadth[n] / 2, top[n], breadth[n], depth_of[n]),
                              rankdir)
    out.edges = [_route(chain, centre, top, depth_of, breadth, succ, pred, rankdir)
                 for chain in chains]
    for name, (lo, hi, first, last) in _cluster_extents(sizes, path, centre, top, breadth,
                                                        depth_of).items():
        out.clusters[name] = _to_xy((lo, first, hi - lo, last - first), rankdir)
    right = max((x + w for x, _, w, _ in list(out.boxes.values()) + list(out.clusters.values())),
                default=0.0)
    bottom = max((y + h for _, y, _, h in list(out.boxes.values())
                  + list(out.clusters.values())), default=0.0)
    out.width, out.height = right + MARGIN, bottom + MARGIN
    return out


# ---- ranks ------------------------------------------------------------------------

def _ranks(nodes: list, edges: list) -> dict:
    preds = {n: [] for n in nodes}
    succs = {n: [] for n in nodes}
    for u, v in edges:
        succs[u].append(v)
        preds[v].append(u)
    rank = {}
    remaining = {n: len(preds[n]) for n in nodes}
    ready = [n for n in nodes if not remaining[n]]
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        rank[n] = max((rank[p] + 1 for p in preds[n]), default=0)
        for s in succs[n]:
            remaining[s] -= 1
            if not remaining[s]:
                ready.append(s)
    if len(order) != len(nodes):
        raise ValueError("The graph to draw has a cycle.")
    # Then, from the bottom up, a node with at least as many consumers as inputs moves
    # down to just above its first consumer: a second model input, or a branch used
    # only far down, sits next to where it is used (shorter edges in total).
    for n in reversed(order):
        if succs[n] and len(succs[n]) >= len(preds[n]):
            rank[n] = max(rank[n], min(rank[s] for s in succs[n]) - 1)
    return rank


# ---- crossing reduction -----------------------------------------------------------

def _common_prefix(a: tuple, b: tuple) -> tuple:
    out = []
    for x, y in zip(a, b):
        if x != y:
            break
        out.append(x)
    return tuple(out)


def _grouped_order(nodes: list, key: dict, path: dict, level: int = 0) -> list:
    """``nodes`` sorted by ``key``, members of one cluster kept together (a cluster
    placed by the mean key of its members), recursively for nested clusters."""
    items = {}
    for n in nodes:
        p = path[n]
        group = p[level] if len(p) > level else ("node", n)
        items.setdefault(group, []).append(n)
    ranked = []
    for group, members in items.items():
        mean = sum(key[m] for m in members) / len(members)
        if isinstance(group, tuple) and group[0] == "node":
            ranked.append((mean, members))
        else:
            ranked.append((mean, _grouped_order(members, key, path, level + 1)))
    ranked.sort(key=lambda item: item[0])  # stable: ties keep the current order
    return [n for _, members in ranked for n in members]


def _crossings(upper: list, lower: list, succ: dict) -> int:
    position = {n: i for i, n in enumerate(lower)}
    segments = [(i, position[s]) for i, n in enumerate(upper) for s in succ[n] if s in position]
    count = 0
    for a in range(len(segments)):
        for b in range(a + 1, len(segments)):
            (u1, l1), (u2, l2) = segments[a], segments[b]
            if (u1 - u2) * (l1 - l2) < 0:
                count += 1
    return count


def _total_crossings(ranks: list, succ: dict) -> int:
    return sum(_crossings(a, b, succ) for a, b in zip(ranks, ranks[1:]))


def _transpose(ranks: list, succ: dict, path: dict) -> None:
    """Swaps neighbours in a rank (within one cluster) while that removes crossings."""
    improved = True
    while improved:
        improved = False
        for i, nodes in enumerate(ranks):
            for j in range(len(nodes) - 1):
                if path[nodes[j]] != path[nodes[j + 1]]:
                    continue
                before = _local_crossings(ranks, i, succ)
                nodes[j], nodes[j + 1] = nodes[j + 1], nodes[j]
                if _local_crossings(ranks, i, succ) < before:
                    improved = True
                else:
                    nodes[j], nodes[j + 1] = nodes[j + 1], nodes[j]


def _local_crossings(ranks: list, i: int, succ: dict) -> int:
    """Crossings between rank ``i`` and its neighbouring ranks."""
    count = _crossings(ranks[i - 1], ranks[i], succ) if i else 0
    if i + 1 < len(ranks):
        count += _crossings(ranks[i], ranks[i + 1], succ)
    return count


def _reduce_crossings(ranks: list, succ: dict, pred: dict, path: dict) -> list:
    ranks = [_grouped_order(r, {n: i for i, n in enumerate(r)}, path) for r in ranks]
    best, best_count = [list(r) for r in ranks], _total_crossings(ranks, succ)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        indices = range(1, len(ranks)) if down else range(len(ranks) - 2, -1, -1)
        for i in indices:
            fixed = ranks[i - 1] if down else ranks[i + 1]
            neighbours = pred if down else succ
            position = {n: j for j, n in enumerate(fixed)}
            key = {}
            for j, n in enumerate(ranks[i]):
                linked = [position[m] for m in neighbours[n] if m in position]
                key[n] = sum(linked) / len(linked) if linked else j * len(fixed) / max(
                    len(ranks[i]), 1)
            ranks[i] = _grouped_order(ranks[i], key, path)
        _transpose(ranks, succ, path)
        count = _total_crossings(ranks, succ)
        if count < best_count:
            best, best_count = [list(r) for r in ranks], count
    return best


# ---- coordinates ------------------------------------------------------------------

def _separation(a, b, breadth: dict, path: dict) -> float:
    """The least distance between the centres of neighbours ``a`` and ``b``."""
    shared = len(_common_prefix(path[a], path[b]))
    frames = len(path[a]) + len(path[b]) - 2 * shared  # cluster frames between them
    gap = NODE_GAP if breadth[a] and breadth[b] else NODE_GAP / 2
    return (breadth[a] + breadth[b]) / 2 + gap + frames * CLUSTER_PAD


def _place(nodes: list, desired: dict, weight: dict, breadth: dict, path: dict) -> dict:
    """Positions as close as possible (weighted least squares) to ``desired`` that keep
    the order of ``nodes`` and their separations: pool-adjacent-violators on positions
    less their cumulative separations."""
    offsets, total = [], 0.0
    for i, n in enumerate(nodes):
        if i:
            total += _separation(nodes[i - 1], n, breadth, path)
        offsets.append(total)
    blocks = []  # [weighted mean, total weight, count]
    for n, c in zip(nodes, offsets):
        blocks.append([desired[n] - c, weight[n], 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, k2 = blocks.pop()
            v1, w1, k1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, k1 + k2])
    out, i = {}, 0
    for value, _, count in blocks:
        for _ in range(count):
            out[nodes[i]] = value + offsets[i]
            i += 1
    return out


def _coordinates(ranks: list, succ: dict, pred: dict, breadth: dict, path: dict) -> dict:
    centre = {}
    for nodes in ranks:
        centre.update(_place(nodes, {n: 0.0 for n in nodes}, {n: 1.0 for n in nodes},
                             breadth, path))
    # Dummy nodes weigh more: long edges stay straight.
    weight = {n: (4.0 if isinstance(n, tuple) and n[:1] == ("dummy",) else 1.0)
              for n in centre}
    # Alternate sweeps towards each node's predecessors and successors, ending with
    # one towards predecessors: chains then hang straight below what feeds them.
    for sweep in range(SWEEPS + 1):
        down = sweep % 2 == 0
        for nodes in (ranks if down else ranks[::-1]):
            desired = {}
            for n in nodes:
                linked = pred[n] if down else succ[n]
                desired[n] = (sum(centre[m] for m in linked) / len(linked) if linked
                              else centre[n])
            centre.update(_place(nodes, desired, weight, breadth, path))
    return centre


def _clear_cluster_frames(ranks: list, centre: dict, breadth: dict, path: dict) -> None:
    """Pushes nodes outside a cluster out of its frame, in every rank the frame spans."""
    names = sorted({p[:k] for p in path.values() for k in range(1, len(p) + 1)},
                   key=len, reverse=True)  # innermost first
    rank_of = {n: i for i, nodes in enumerate(ranks) for n in nodes}
    for prefix in names:
        depth = len(prefix)
        members = [n for n in centre if path[n][:depth] == prefix]
        lo = min(centre[n] - breadth[n] / 2 for n in members) - CLUSTER_PAD
        hi = max(centre[n] + breadth[n] / 2 for n in members) + CLUSTER_PAD
        spanned = {rank_of[n] for n in members}
        for r in range(min(spanned), max(spanned) + 1):
            nodes = ranks[r]
            inside = [i for i, n in enumerate(nodes) if path[n][:depth] == prefix]
            mid = (lo + hi) / 2
            for i, n in enumerate(nodes):
                if i in inside:
                    continue
                before = i < inside[0] if inside else centre[n] < mid
                if before:
                    excess = centre[n] + breadth[n] / 2 + NODE_GAP / 2 - lo
                    if excess > 0:
                        for m in nodes[:i + 1]:
                            centre[m] -= excess
                else:
                    excess = hi + NODE_GAP / 2 - (centre[n] - breadth[n] / 2)
                    if excess > 0:
                        for m in nodes[i:]:
                            centre[m] += excess


def _cluster_extents(sizes, path, centre, top, breadth, depth_of) -> dict:
    out = {}
    names = {p[:k] for n in sizes for p in [path[n]] for k in range(1, len(p) + 1)}
    for prefix in names:
        members = [n for n in sizes if path[n][:len(prefix)] == prefix]
        inner = max(len(path[n]) for n in members) - len(prefix)  # frames nested inside
        pad = CLUSTER_PAD * (inner + 1)
        lo = min(centre[n] - breadth[n] / 2 for n in members) - pad
        hi = max(centre[n] + breadth[n] / 2 for n in members) + pad
        first = min(top[n] for n in members) - pad - CLUSTER_LABEL * (inner + 1)
        last = max(top[n] + depth_of[n] for n in members) + pad
        out[prefix[-1]] = (lo, hi, first, last)
    return out


# ---- edges ------------------------------------------------------------------------

def _port(node, other, centre, breadth, links) -> float:
    """Where on its side ``node`` meets the edge to ``other``: ports spread along the
    middle of the side, in the order of the nodes at their other ends."""
    ends = sorted(links[node], key=lambda m: centre[m])
    if len(ends) <= 1 or not breadth[node]:
        return centre[node]
    span = breadth[node] * 0.6
    index = ends.index(other)
    return centre[node] - span / 2 + span * index / (len(ends) - 1)


def _route(chain, centre, top, depth_of, breadth, succ, pred, rankdir) -> list:
    points = []
    first, last = chain[0], chain[-1]
    points.append((_port(first, chain[1], centre, breadth, succ),
                   top[first] + depth_of[first]))
    for dummy in chain[1:-1]:
        points.append((centre[dummy], top[dummy]))
    points.append((_port(last, chain[-2], centre, breadth, pred), top[last]))
    if rankdir == "LR":
        points = [(y, x) for x, y in points]
    return points


def _to_xy(rect, rankdir):
    across, along, breadth, depth = rect
    if rankdir == "TB":
        return (across, along, breadth, depth)
    return (along, across, depth, breadth)
