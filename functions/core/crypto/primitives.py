"""The primitives of the channel: ECDH (raw x), X9.63 KDF, AES-256-CBC, HMAC, ECDSA (compact).

ECDH and ECDSA go straight to libsecp256k1 through coincurve's cffi binding: coincurve's
``PrivateKey.ecdh`` returns SHA-256 of the point, while SEC 1 ECIES needs the raw x
coordinate, and its ``sign``/``verify`` speak DER where the protocol uses compact r||s.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from coincurve import PrivateKey, PublicKey
from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT
from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives.ciphers import algorithms, modes

from .errors import BadSignature, MalformedEnvelope

# Group order n of secp256k1; a low-S signature has s <= n // 2.
CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_ORDER = CURVE_ORDER // 2

AES_KEY_LEN = 32
MAC_KEY_LEN = 32
IV_LEN = 16
MAC_LEN = 32
SIGNATURE_LEN = 64
BLOCK_LEN = 16

_CTX = GLOBAL_CONTEXT.ctx


@ffi.callback("int(unsigned char *, const unsigned char *, const unsigned char *, void *)")
def _copy_x_coordinate(output: Any, x32: Any, _y32: Any, _data: Any) -> int:
    """ECDH 'hash' function for secp256k1_ecdh that returns the x coordinate unchanged."""
    ffi.memmove(output, x32, 32)
    return 1


def ecdh_x(private: PrivateKey | bytes, peer: PublicKey) -> bytes:
    """SEC 1 ECDH primitive: the 32-byte x coordinate of private * peer.

    Uses secp256k1_ecdh (constant-time scalar multiplication) with a pass-through hash, so
    the static server key is never fed to the variable-time tweak_mul path.
    """
    secret = private.secret if isinstance(private, PrivateKey) else private
    output = ffi.new("unsigned char[32]")
    if not lib.secp256k1_ecdh(_CTX, output, peer.public_key, secret, _copy_x_coordinate, ffi.NULL):
        raise ValueError("ECDH failed: invalid private scalar")
    return bytes(ffi.buffer(output, 32))


def new_ephemeral_secret() -> bytes:
    """A fresh scalar in [1, n-1] from the OS CSPRNG (rejection sampling, ~never loops)."""
    while True:
        secret = os.urandom(32)
        if lib.secp256k1_ec_seckey_verify(_CTX, secret):
            return secret


def ephemeral_public_key(secret: bytes) -> bytes:
    """Compressed public key of a scalar; skips coincurve.PrivateKey's second (x-only) key."""
    pubkey = ffi.new("secp256k1_pubkey *")
    if not lib.secp256k1_ec_pubkey_create(_CTX, pubkey, secret):
        raise ValueError("ephemeral secret out of range")
    return PublicKey(pubkey).format(compressed=True)


def x963_kdf(shared_secret: bytes, length: int, shared_info: bytes = b"") -> bytes:
    """ANSI X9.63 KDF with SHA-256: SHA-256(Z || counter32_be || SharedInfo), counter from 1."""
    blocks = []
    for counter in range(1, -(-length // 32) + 1):
        blocks.append(hashlib.sha256(shared_secret + counter.to_bytes(4, "big") + shared_info))
    return b"".join(block.digest() for block in blocks)[:length]


def derive_keys(shared_secret: bytes, shared_info: bytes) -> tuple[bytes, bytes]:
    """(AES-256 key, HMAC-SHA-256 key) = x963_kdf(Z, 64, SharedInfo) split in two halves.

    Unrolled: with SHA-256 the two 32-byte keys are exactly the KDF blocks for counters
    1 and 2 (a unit test compares with x963_kdf and cryptography's X963KDF).
    """
    aes_key = hashlib.sha256(shared_secret + b"\x00\x00\x00\x01" + shared_info).digest()
    mac_key = hashlib.sha256(shared_secret + b"\x00\x00\x00\x02" + shared_info).digest()
    return aes_key, mac_key


_PADDINGS = [bytes([count]) * count for count in range(BLOCK_LEN + 1)]


def pkcs7_pad(data: bytes) -> bytes:
    pad = BLOCK_LEN - len(data) % BLOCK_LEN
    return data + bytes([pad]) * pad


# AES-256-CBC through the OpenSSL cipher context that cryptography's
# Cipher(...).encryptor()/.decryptor() return, created the way they create it. Cipher()
# adds only argument checks (ABC isinstance tests, IV length) that cost about 3 us of
# every accepted reading, where each message has a new key; the checks are done here
# instead (the key comes from the KDF, the IV length is checked), and a unit test compares
# both ways on many keys, IVs and lengths. cryptography is pinned in requirements.txt.
_new_encryption_context = rust_openssl.ciphers.create_encryption_ctx
_new_decryption_context = rust_openssl.ciphers.create_decryption_ctx
_AES256 = algorithms.AES256
_CBC = modes.CBC


def aes_cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    if len(iv) != IV_LEN:
        raise ValueError("iv must be 16 bytes")
    encryptor = _new_encryption_context(_AES256(key), _CBC(iv))
    return encryptor.update(pkcs7_pad(plaintext)) + encryptor.finalize()


def aes_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """AES-256-CBC decryption and PKCS#7 unpadding (pkcs7_unpad(), inline)."""
    if not ciphertext or len(ciphertext) % BLOCK_LEN:
        raise MalformedEnvelope("bad_field_length", "ciphertext is not a whole number of blocks")
    if len(iv) != IV_LEN:
        raise MalformedEnvelope("bad_field_length", "iv must be 16 bytes")
    decryptor = _new_decryption_context(_AES256(key), _CBC(iv))
    data = decryptor.update(ciphertext) + decryptor.finalize()
    # Runs only after the MAC verified, so a padding error here is no oracle for an attacker.
    pad = data[-1]
    if not 1 <= pad <= BLOCK_LEN or data[-pad:] != _PADDINGS[pad]:
        raise MalformedEnvelope("bad_padding", "invalid PKCS#7 padding")
    return data[:-pad]


# HMAC-SHA-256 as RFC 2104 defines it, over hashlib's SHA-256: the same bytes as
# hmac.digest(key, data, "sha256") (unit tests compare them on many keys and lengths), but
# OpenSSL 3's one-shot HMAC looks its algorithms up again on every call, which cost about
# 3 us of each accepted reading. The pads are XORed as integers: no table lookup is indexed
# by a key byte.
_HMAC_BLOCK = 64
_IPAD = int.from_bytes(b"\x36" * _HMAC_BLOCK, "big")
_OPAD = int.from_bytes(b"\x5c" * _HMAC_BLOCK, "big")


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    if len(key) > _HMAC_BLOCK:
        key = hashlib.sha256(key).digest()
    block = int.from_bytes(key.ljust(_HMAC_BLOCK, b"\0"), "big")
    inner = hashlib.sha256((block ^ _IPAD).to_bytes(_HMAC_BLOCK, "big") + data).digest()
    return hashlib.sha256((block ^ _OPAD).to_bytes(_HMAC_BLOCK, "big") + inner).digest()


def sign_compact(private: PrivateKey, message: bytes) -> bytes:
    """ECDSA/SHA-256 over ``message``: RFC 6979 nonce, 64-byte r||s, always low-S.

    The one signature encoding of the protocol (envelopes, server key endorsements).
    """
    signature = ffi.new("secp256k1_ecdsa_signature *")
    digest = hashlib.sha256(message).digest()
    if not lib.secp256k1_ecdsa_sign(_CTX, signature, digest, private.secret, ffi.NULL, ffi.NULL):
        raise ValueError("signing failed")
    output = ffi.new("unsigned char[64]")
    lib.secp256k1_ecdsa_signature_serialize_compact(_CTX, output, signature)
    return bytes(ffi.buffer(output, SIGNATURE_LEN))


def check_signature_encoding(signature: bytes) -> None:
    """Reject wrong length, r or s outside [1, n-1], and high-S (malleable) signatures."""
    if len(signature) != SIGNATURE_LEN:
        raise BadSignature("sig_encoding", "signature must be 64 bytes r||s")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < CURVE_ORDER and 0 < s < CURVE_ORDER):
        raise BadSignature("sig_encoding", "r or s out of range")
    if s > HALF_ORDER:
        raise BadSignature("sig_high_s", "s is not in the lower half of the order")


def verify_compact(public: PublicKey, signature: bytes, message: bytes) -> bool:
    """True only for a valid 64-byte r||s, low-S signature by ``public`` over ``message``.

    libsecp256k1 refuses high-S and r, s >= n; check_signature_encoding() says which.
    """
    if len(signature) != SIGNATURE_LEN:
        return False
    parsed = ffi.new("secp256k1_ecdsa_signature *")
    if not lib.secp256k1_ecdsa_signature_parse_compact(_CTX, parsed, signature):
        return False
    digest = hashlib.sha256(message).digest()
    return bool(lib.secp256k1_ecdsa_verify(_CTX, parsed, digest, public.public_key))
