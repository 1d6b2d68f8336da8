"""Variable-length sequences for the recurrent layers (``torch.nn.utils.rnn``):
``pad_sequence``, ``PackedSequence``, ``pack_padded_sequence``, ``pad_packed_sequence``,
``pack_sequence``, ``unpad_sequence`` and ``unpack_sequence``, all differentiable."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import creation
from ... import functions as _T
from ...tensor import Tensor


class PackedSequence(NamedTuple):
    """Sequences of a batch sorted by decreasing length and stored time step by time step:
    ``data`` holds step t of the first ``batch_sizes[t]`` sequences, then step t + 1...
    ``sorted_indices`` is the order that sorted the batch (None when it came sorted) and
    ``unsorted_indices`` its inverse."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


def _as_lengths(lengths):
    if isinstance(lengths, Tensor):
        lengths = lengths.tolist()
    return np.asarray([int(n) for n in lengths], dtype=np.int64)


def _index_tensor(indices):
    return creation.from_numpy(np.ascontiguousarray(indices, dtype=np.int64))


def invert_permutation(permutation):
    if permutation is None:
        return None
    inverse = np.empty_like(permutation.numpy())
    inverse[permutation.numpy()] = np.arange(permutation.numel())
    return _index_tensor(inverse)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (L_i, *) into (max L, B, *) (``batch_first``: (B, max L, *)),
    padded with ``padding_value`` on the right (or the left)."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            fill = creation.full((missing, *s.shape[1:]), padding_value, dtype=s.dtype)
            s = _T.cat([s, fill] if padding_side == "right" else [fill, s])
        padded.append(s)
    return _T.stack(padded, 0 if batch_first else 1)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (L, B, *) (``batch_first``: (B, L, *)) of sequences with the
    given lengths. With ``enforce_sorted=False`` the batch is sorted by length first."""
    lengths = _as_lengths(lengths)
    batch_dim = 0 if batch_first else 1
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        sorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = _index_tensor(order)
        input = input.index_select(batch_dim, sorted_indices)
    if lengths.size != input.shape[batch_dim]:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lengths.size} (batch_size={input.shape[batch_dim]})")
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if batch_first:
        input = input.transpose(0, 1)
    if lengths.size and lengths[0] > input.shape[0]:
        raise RuntimeError(f"Expected a sequence of length at most {input.shape[0]}, got "
                           f"{lengths[0]}")
    steps = np.arange(lengths[0] if lengths.size else 0)
    batch_sizes = (lengths[None, :] > steps[:, None]).sum(1)
    data = _T.cat([input[t, :int(n)] for t, n in enumerate(batch_sizes)])
    return PackedSequence(data, _index_tensor(batch_sizes), sorted_indices,
                          invert_permutation(sorted_indices))


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo ``pack_padded_sequence``: ``(padded, lengths)`` in the original batch order."""
    data, batch_sizes, sorted_indices, unsorted_indices = sequence
    sizes = [int(b) for b in batch_sizes.tolist()]
    steps = len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
        steps = total_length
    batch = sizes[0]
    rows, start = [], 0
    for n in sizes:
        step = data[start:start + n]
        if n < batch:
            fill = creation.full((batch - n, *data.shape[1:]), padding_value, dtype=data.dtype)
            step = _T.cat([step, fill])
        rows.append(step)
        start += n
    for _ in range(steps - len(sizes)):
        rows.append(creation.full((batch, *data.shape[1:]), padding_value, dtype=data.dtype))
    padded = _T.stack(rows)
    lengths = (np.asarray(sizes)[None, :] > np.arange(batch)[:, None]).sum(1)
    if unsorted_indices is not None:
        padded = padded.index_select(1, unsorted_indices)
        lengths = lengths[unsorted_indices.numpy()]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _index_tensor(lengths)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of (L_i, *) sequences (``pad_sequence`` then ``pack_padded_sequence``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences of a padded batch, each cut to its length."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:int(n)] for seq, n in zip(padded_sequences.unbind(0), _as_lengths(lengths))]


def unpack_sequence(packed_sequences):
    """The list of sequences held by a PackedSequence, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
