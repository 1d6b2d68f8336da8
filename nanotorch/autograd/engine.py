"""The backward engine: walks the graph once, in topological order, without recursion."""
from __future__ import annotations

import heapq

import numpy as np

from . import anomaly
from .grad_mode import _set_enabled, is_grad_enabled
from .node import AccumulateGrad


def _root_edges(tensors, grad_tensors):
    from ..creation import ones_like
    from ..tensor import Tensor

    edges, grads = [], []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected a Tensor to differentiate, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = ones_like(t)
        elif not isinstance(g, Tensor):
            g = Tensor(g, dtype=t.dtype)
        if g.shape != t.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                               f"{tuple(g.shape)} and output[{i}] has a shape of {tuple(t.shape)}.")
        edges.append((t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._accumulator(), 0))
        grads.append(g)
    return edges, grads


def _input_edge(t):
    if not t.requires_grad:
        raise RuntimeError("One of the differentiated Tensors does not require grad")
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    return (t._accumulator(), 0)


def _count_dependencies(roots):
    deps, seen, stack = {}, set(), []
    for node, _ in roots:
        if id(node) not in seen:
            seen.add(id(node))
            stack.append(node)
    order = []
    while stack:
        node = stack.pop()
        order.append(node)
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if id(nxt) not in seen:
                seen.add(id(nxt))
                stack.append(nxt)
    return deps, order


def _nodes_leading_to(targets, order, deps):
    """Nodes from which some target can be reached (only these need to run)."""
    needed = set(id(n) for n in targets)
    # Reverse topological sweep: children are decided before their parents.
    remaining = dict(deps)
    ready = [n for n in order if n not in remaining]
    topo = []
    while ready:
        node = ready.pop()
        topo.append(node)
        for nxt, _ in node.next_functions:
            if nxt is not None:
                remaining[nxt] -= 1
                if remaining[nxt] == 0:
                    ready.append(nxt)
    for node in reversed(topo):
        if any(nxt is not None and id(nxt) in needed for nxt, _ in node.next_functions):
            needed.add(id(node))
    return needed


def _check_grad(node, i, g):
    meta = node._input_meta[i] if i < len(node._input_meta) else None
    if meta is None:
        return g
    shape, np_dtype = meta
    if g._array.shape != shape:
        try:
            g = g.sum_to_size(shape)
        except (RuntimeError, ValueError):
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index "
                               f"{i} - got {list(g.shape)} but expected shape compatible with "
                               f"{list(shape)}") from None
    if g._array.dtype != np_dtype:
        from .._dtype import from_numpy_dtype
        g = g.to(from_numpy_dtype(np_dtype))
    return g


def _accumulate_leaf(node, grad, create_graph, handed_out):
    leaf = node.variable
    if leaf is None:
        return
    for hook in list(node.leaf_hooks.values()):
        r = hook(grad)
        if r is not None:
            grad = r
    if leaf.grad is None:
        if not create_graph:
            grad = grad.detach()
            arr = grad._array
            if (id(arr) in handed_out or not arr.flags.writeable or not arr.flags.c_contiguous
                    or arr.base is not None):
                grad = grad.clone()
            handed_out.add(id(grad._array))
        leaf.grad = grad
    elif create_graph or leaf.grad.requires_grad or not leaf.grad._array.flags.writeable:
        leaf.grad = leaf.grad + grad
    else:
        np.add(leaf.grad._array, grad._array, out=leaf.grad._array, casting="unsafe")
    for hook in list(getattr(leaf, "_post_accumulate_hooks", {}).values()):
        hook(leaf)


def run_backward(tensors, grad_tensors, retain_graph=False, create_graph=False,
                 inputs=None, allow_unused=False, accumulate=True):
    """Backpropagate from ``tensors``. With ``accumulate`` gradients go into the leaves'
    ``.grad`` (restricted to ``inputs`` when given); otherwise the gradients of
    ``inputs`` are returned as a tuple, as ``autograd.grad`` does."""
    roots, root_grads = _root_edges(tensors, grad_tensors)
    deps, order = _count_dependencies(roots)
    captures = None
    needed = None
    if inputs is not None:
        input_edges = [_input_edge(t) for t in inputs]
        needed = _nodes_leading_to([n for n, _ in input_edges], order, deps)
        captures = {}
        for k, (node, nr) in enumerate(input_edges):
            captures.setdefault(id(node), []).append((nr, k))
    results = [None] * (len(inputs) if inputs is not None else 0)
    leaf_filter = ({id(n) for n, _ in input_edges} if (inputs is not None and accumulate)
                   else None)

    buffers = {}
    for (node, nr), g in zip(roots, root_grads):
        _add_to_buffer(buffers, node, nr, g)
    heap = []
    pushed = set()
    for node, _ in roots:
        if node not in deps and id(node) not in pushed:
            pushed.add(id(node))
            heapq.heappush(heap, (-node._seq, id(node), node))

    prev_mode = is_grad_enabled()
    _set_enabled(create_graph)
    handed_out = set()
    try:
        while heap:
            _, _, node = heapq.heappop(heap)
            grads = buffers.pop(id(node), None)
            grads = _run_pre_hooks(node, grads)
            if captures is not None and id(node) in captures and grads is not None:
                for nr, k in captures[id(node)]:
                    if nr < len(grads):
                        results[k] = grads[nr]
            run = grads is not None and any(g is not None for g in grads)
            if needed is not None and id(node) not in needed:
                run = False
            input_grads = ()
            if run:
                if isinstance(node, AccumulateGrad):
                    if accumulate and (leaf_filter is None or id(node) in leaf_filter):
                        _accumulate_leaf(node, grads[0], create_graph, handed_out)
                else:
                    input_grads = _call_node(node, grads, create_graph)
                    if not retain_graph:
                        node.release()
            for i, (nxt, nr) in enumerate(node.next_functions):
                if nxt is None:
                    continue
                g = input_grads[i] if i < len(input_grads) else None
                if g is not None:
                    _add_to_buffer(buffers, nxt, nr, _check_grad(node, i, g))
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    heapq.heappush(heap, (-nxt._seq, id(nxt), nxt))
    finally:
        _set_enabled(prev_mode)

    if inputs is None or accumulate:
        return None
    for r in results:
        if r is None and not allow_unused:
            raise RuntimeError("One of the differentiated Tensors appears to not have been used "
                               "in the graph. Set allow_unused=True if this is the desired "
                               "behavior.")
    return tuple(results)


def _add_to_buffer(buffers, node, nr, g):
    slot = buffers.get(id(node))
    if slot is None:
        slot = buffers[id(node)] = [None] * max(nr + 1, getattr(node, "_num_outputs", 1))
    elif nr >= len(slot):
        slot.extend([None] * (nr + 1 - len(slot)))
    slot[nr] = g if slot[nr] is None else slot[nr] + g


def _run_pre_hooks(node, grads):
    if grads is None:
        return None
    if node._pre_hooks:
        grads = list(grads)
        for nr, hooks in node._pre_hooks.items():
            if nr < len(grads) and grads[nr] is not None:
                for hook in list(hooks.values()):
                    r = hook(grads[nr])
                    if r is not None:
                        grads[nr] = r
    if node._retained:
        for nr, ref in node._retained.items():
            t = ref()
            if t is not None and nr < len(grads) and grads[nr] is not None:
                g = grads[nr] if is_grad_enabled() else grads[nr].detach()
                t.grad = g.clone() if t.grad is None else t.grad + g
    return grads


def _call_node(node, grads, create_graph):
    if node._freed:
        _ = node.saved_tensors  # raises the "backward through the graph a second time" error
    if create_graph and node.once_differentiable:
        raise RuntimeError(f"double backward through {node.name()} is not supported: "
                           "create_graph=True needs a differentiable backward formula")
    try:
        out = node._run_backward(tuple(grads))
    except Exception as e:
        if anomaly.is_enabled() and getattr(node, "metadata", None):
            tb = "".join(node.metadata.get("traceback_", ()))
            raise type(e)(f"{e}\n\nError detected in {node.name()}. Traceback of forward "
                          f"call that caused the error:\n{tb}") from e
        raise
    if anomaly.is_enabled():
        for i, g in enumerate(out):
            if g is not None and g.dtype.is_floating_point and np.isnan(g._array).any():
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its "
                                   f"{i}th output.")
    return out
