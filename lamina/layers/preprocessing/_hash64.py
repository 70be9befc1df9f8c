"""64-bit string hashes in jax.numpy, for the Hashing layer.

Keras's Hashing layer hashes the *string form* of each value with FarmHash's
Fingerprint64 (no salt) or keyed SipHash-2-4 (with a salt), then takes the
result modulo the number of bins. JAX has no 64-bit integers unless x64 is
enabled, so a uint64 is represented here as a pair ``(hi, lo)`` of uint32
arrays and the arithmetic is done by hand; everything is vectorized over
arrays of byte strings (a zero-padded ``uint8`` matrix plus lengths) and stays
traceable under ``jax.jit``.

FarmHash Fingerprint64 is implemented for strings of up to 32 bytes (enough
for the decimal form of any 64-bit integer); SipHash for any length.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

_MASK32 = 0xFFFFFFFF

# FarmHash ("na" variant) multipliers.
_K0 = 0xC3A5C85C97CB3127
_K1 = 0xB492B66FBE98F273
_K2 = 0x9AE16A3B2F90404F

# Longest string Fingerprint64 is implemented for here.
MAX_FARMHASH_LEN = 32


def const(value: int, like) -> tuple:
    """The 64-bit constant ``value`` as a ``(hi, lo)`` pair shaped like ``like``."""
    hi = jnp.full(jnp.shape(like), (value >> 32) & _MASK32, jnp.uint32)
    lo = jnp.full(jnp.shape(like), value & _MASK32, jnp.uint32)
    return hi, lo


def from_u32(x) -> tuple:
    x = jnp.asarray(x).astype(jnp.uint32)
    return jnp.zeros_like(x), x


def add(a, b) -> tuple:
    lo = a[1] + b[1]
    carry = (lo < a[1]).astype(jnp.uint32)
    return a[0] + b[0] + carry, lo


def xor(a, b) -> tuple:
    return a[0] ^ b[0], a[1] ^ b[1]


def _or(a, b) -> tuple:
    return a[0] | b[0], a[1] | b[1]


def shr(a, n: int) -> tuple:
    """Logical right shift by a constant ``0 < n < 64``."""
    if n >= 32:
        return jnp.zeros_like(a[0]), a[0] >> (n - 32)
    return a[0] >> n, (a[1] >> n) | (a[0] << (32 - n))


def shl(a, n: int) -> tuple:
    """Left shift by a constant ``0 < n < 64``."""
    if n >= 32:
        return a[1] << (n - 32), jnp.zeros_like(a[1])
    return (a[0] << n) | (a[1] >> (32 - n)), a[1] << n


def rotr(a, n: int) -> tuple:
    n %= 64
    if n == 0:
        return a
    if n == 32:
        return a[1], a[0]
    return _or(shr(a, n), shl(a, 64 - n))


def rotl(a, n: int) -> tuple:
    return rotr(a, 64 - n)


def _mul32_wide(a, b) -> tuple:
    """The full 64-bit product of two uint32 arrays, from 16-bit partial products."""
    a0, a1 = a & 0xFFFF, a >> 16
    b0, b1 = b & 0xFFFF, b >> 16
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    middle = (p00 >> 16) + (p01 & 0xFFFF) + (p10 & 0xFFFF)
    hi = p11 + (p01 >> 16) + (p10 >> 16) + (middle >> 16)
    return hi, a * b


def mul(a, b) -> tuple:
    """Product modulo 2**64."""
    hi, lo = _mul32_wide(a[1], b[1])
    return hi + a[1] * b[0] + a[0] * b[1], lo


def mod(a, n):
    """``a mod n`` as uint32, for ``1 <= n < 2**31`` (a Python int or a uint32 array).

    Long division one bit at a time: the remainder stays below 2**31, so shifting
    in a bit never overflows 32 bits, and ``n`` may be a traced value.
    """
    if isinstance(n, int) and not 1 <= n < 2 ** 31:
        raise NotImplementedError(f"Hashing into {n} bins: lamina supports 1 <= num_bins < 2**31.")
    n = jnp.asarray(n, jnp.uint32)
    r = a[0] % n
    for bit in range(31, -1, -1):
        r = ((r << 1) | ((a[1] >> bit) & 1)) % n
    return r


def select(cond, a, b) -> tuple:
    return jnp.where(cond, a[0], b[0]), jnp.where(cond, a[1], b[1])


# -- byte access ---------------------------------------------------------------
def _byte(data, offset):
    """``data[..., offset]`` as uint32, with ``offset`` an int array over the leading axes."""
    offset = jnp.broadcast_to(offset, data.shape[:-1])
    return jnp.take_along_axis(data, offset[..., None].astype(jnp.int32), axis=-1)[..., 0].astype(
        jnp.uint32)


def fetch32(data, offset):
    """Little-endian uint32 read of 4 bytes at ``offset``."""
    out = _byte(data, offset)
    for i in range(1, 4):
        out = out | (_byte(data, offset + i) << (8 * i))
    return out


def fetch64(data, offset) -> tuple:
    """Little-endian uint64 read of 8 bytes at ``offset``, as ``(hi, lo)``."""
    return fetch32(data, offset + 4), fetch32(data, offset)


def pad_bytes(data, width: int):
    """Zero-pads the last axis of a uint8 matrix to at least ``width`` bytes."""
    extra = width - data.shape[-1]
    if extra <= 0:
        return data
    return jnp.pad(data, [(0, 0)] * (data.ndim - 1) + [(0, extra)])


# -- FarmHash Fingerprint64 --------------------------------------------------------
def _shift_mix(v) -> tuple:
    return xor(v, shr(v, 47))


def _hash_len16(u, v, m) -> tuple:
    a = _shift_mix(mul(xor(u, v), m))
    b = _shift_mix(mul(xor(v, a), m))
    return mul(b, m)


def fingerprint64(data, lengths) -> tuple:
    """FarmHash Fingerprint64 of byte strings of length <= 32.

    Args:
        data: uint8 array ``(..., width)``, each row a string zero-padded past its length.
        lengths: int array ``(...)``, the strings' lengths in bytes (0..32).

    Returns:
        The 64-bit fingerprints as a ``(hi, lo)`` pair of uint32 arrays.
    """
    data = pad_bytes(jnp.asarray(data, jnp.uint8), MAX_FARMHASH_LEN + 8)
    lengths = jnp.asarray(lengths).astype(jnp.int32)
    n64 = from_u32(lengths)
    k0, k1, k2 = const(_K0, lengths), const(_K1, lengths), const(_K2, lengths)
    m = add(k2, add(n64, n64))
    zero = jnp.zeros_like(lengths)
    # Offsets below 0 only occur in branches that are not selected for that length.
    safe = lambda off: jnp.maximum(off, 0)  # noqa: E731

    # 8..16 bytes.
    a = add(fetch64(data, zero), k2)
    b = fetch64(data, safe(lengths - 8))
    c = add(mul(rotr(b, 37), m), a)
    d = mul(add(rotr(a, 25), b), m)
    h8 = _hash_len16(c, d, m)
    # 4..7 bytes.
    a4 = from_u32(fetch32(data, zero))
    h4 = _hash_len16(add(n64, shl(a4, 3)), from_u32(fetch32(data, safe(lengths - 4))), m)
    # 1..3 bytes.
    y = _byte(data, zero) + (_byte(data, lengths >> 1) << 8)
    z = lengths.astype(jnp.uint32) + (_byte(data, safe(lengths - 1)) << 2)
    h1 = mul(_shift_mix(xor(mul(from_u32(y), k2), mul(from_u32(z), k0))), k2)
    # 17..32 bytes.
    a17 = mul(fetch64(data, zero), k1)
    b17 = fetch64(data, zero + 8)
    c17 = mul(fetch64(data, safe(lengths - 8)), m)
    d17 = mul(fetch64(data, safe(lengths - 16)), k2)
    h17 = _hash_len16(add(add(rotr(add(a17, b17), 43), rotr(c17, 30)), d17),
                      add(add(a17, rotr(add(b17, k2), 18)), c17), m)

    out = select(lengths > 16, h17, h8)
    out = select(lengths < 8, h4, out)
    out = select(lengths < 4, h1, out)
    return select(lengths == 0, k2, out)


# -- SipHash-2-4 ---------------------------------------------------------------
def _sip_round(v0, v1, v2, v3):
    v0 = add(v0, v1)
    v1 = xor(rotl(v1, 13), v0)
    v0 = rotl(v0, 32)
    v2 = add(v2, v3)
    v3 = xor(rotl(v3, 16), v2)
    v0 = add(v0, v3)
    v3 = xor(rotl(v3, 21), v0)
    v2 = add(v2, v1)
    v1 = xor(rotl(v1, 17), v2)
    v2 = rotl(v2, 32)
    return v0, v1, v2, v3


def split_key(key0: int, key1: int) -> np.ndarray:
    """A SipHash key (two 64-bit words) as uint32 ``[hi0, lo0, hi1, lo1]``."""
    key0, key1 = int(key0) & (2 ** 64 - 1), int(key1) & (2 ** 64 - 1)
    return np.array([key0 >> 32, key0 & _MASK32, key1 >> 32, key1 & _MASK32], np.uint32)


def siphash24(data, lengths, key) -> tuple:
    """Keyed SipHash-2-4 of byte strings (the hash behind TF's ``to_hash_bucket_strong``).

    Args:
        data: uint8 array ``(..., width)`` of zero-padded strings.
        lengths: int array ``(...)`` of their lengths.
        key: the two 64-bit key words (the layer's salt) as :func:`split_key` gives
            them; may be a traced array.

    Returns:
        The 64-bit hashes as a ``(hi, lo)`` pair.
    """
    data = jnp.asarray(data, jnp.uint8)
    lengths = jnp.asarray(lengths).astype(jnp.int32)
    key = jnp.asarray(key, jnp.uint32)
    k0 = tuple(jnp.broadcast_to(k, lengths.shape) for k in (key[0], key[1]))
    k1 = tuple(jnp.broadcast_to(k, lengths.shape) for k in (key[2], key[3]))
    v = [xor(k0, const(0x736F6D6570736575, lengths)), xor(k1, const(0x646F72616E646F6D, lengths)),
         xor(k0, const(0x6C7967656E657261, lengths)), xor(k1, const(0x7465646279746573, lengths))]
    blocks = data.shape[-1] // 8 + 1
    data = pad_bytes(data, 8 * blocks + 8)
    full_blocks = lengths // 8
    length_byte = (lengths.astype(jnp.uint32) & 0xFF) << 24
    for i in range(blocks):
        word = fetch64(data, jnp.full(lengths.shape, 8 * i, jnp.int32))
        is_last = full_blocks == i
        # The final block holds the tail bytes (zero padding beyond them) and the length.
        word = (jnp.where(is_last, word[0] | length_byte, word[0]), word[1])
        v0, v1, v2, v3 = v
        v3 = xor(v3, word)
        v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
        v0 = xor(v0, word)
        active = full_blocks >= i
        v = [select(active, new, old) for new, old in zip((v0, v1, v2, v3), v)]
    v0, v1, v2, v3 = v
    v2 = xor(v2, const(0xFF, lengths))
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return xor(xor(v0, v1), xor(v2, v3))


# -- decimal strings of integers ------------------------------------------------------
def decimal_bytes(values):
    """The ASCII decimal form of integer ``values`` (as ``str(int)`` writes it).

    Returns ``(data, lengths)``: a zero-padded uint8 array ``values.shape + (width,)``
    and the lengths. Works for 8-64 bit signed and unsigned integers (64-bit only
    when JAX's x64 mode provides them).
    """
    values = jnp.asarray(values)
    bits = jnp.iinfo(values.dtype).bits
    udtype = jnp.uint64 if bits == 64 else jnp.uint32
    signed = jnp.issubdtype(values.dtype, jnp.signedinteger)
    if signed:
        negative = values < 0
        as_unsigned = values.astype(udtype)
        magnitude = jnp.where(negative, jnp.zeros_like(as_unsigned) - as_unsigned, as_unsigned)
    else:
        negative = jnp.zeros(values.shape, bool)
        magnitude = values.astype(udtype)
    max_digits = len(str(int(np.iinfo(udtype).max)))
    digits = []
    n_digits = jnp.ones(values.shape, jnp.int32)
    for i in range(max_digits):
        power = udtype(10 ** i)
        digits.append(((magnitude // power) % udtype(10)).astype(jnp.uint8))
        if i:
            n_digits = n_digits + (magnitude >= power).astype(jnp.int32)
    digits = jnp.stack(digits, axis=-1)  # least significant first
    sign = negative.astype(jnp.int32)
    lengths = n_digits + sign
    width = max_digits + 1
    pos = jnp.arange(width, dtype=jnp.int32)
    k = n_digits[..., None] - 1 - (pos - sign[..., None])
    in_digits = (k >= 0) & (pos < lengths[..., None])
    digit = jnp.take_along_axis(digits, jnp.clip(k, 0, max_digits - 1), axis=-1)
    data = jnp.where(in_digits, digit + jnp.uint8(48), jnp.uint8(0))
    data = jnp.where(negative[..., None] & (pos == 0), jnp.uint8(45), data)
    return data.astype(jnp.uint8), lengths


def encode_strings(values) -> tuple:
    """Host-side: a NumPy array of str/bytes to ``(uint8 matrix, lengths)`` (UTF-8)."""
    arr = np.asarray(values, dtype=object)
    flat = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in arr.reshape(-1)]
    width = max([len(b) for b in flat] + [1])
    data = np.zeros((len(flat), width), np.uint8)
    for i, b in enumerate(flat):
        data[i, :len(b)] = np.frombuffer(b, np.uint8)
    lengths = np.array([len(b) for b in flat], np.int32)
    return data.reshape(arr.shape + (width,)), lengths.reshape(arr.shape)
