"""Server side of the secure meter channel (protocols v1 and v2, docs/meter-protocol.md).

Typical use:

    request = new_read_request(run_id=..., meter_id=..., period="2025-01",
                               reply_to=url, now=now, ttl=timedelta(hours=24))
    envelope = seal(request, msg_type="read_request", recipient_pub=meter_pub,
                    sender_priv=server_key, sender_id=SERVER_SENDER_ID)
    request_bytes = envelope_to_bytes(envelope)        # or seal_to_bytes(...) in one step

    env = parse_envelope(reading_body)                 # size, JSON, format, version
    meter = meters.get(env.sender)                     # key on record, never from the message
    message = open_envelope(env, recipient_priv=[server_key, previous_server_key],
                            sender_pub=meter.public_key, expect_type=METER_MESSAGE_TYPES)
    check_reading(message.payload, request=stored_request, now=now, last_counter=last)

Other signed statements (server key endorsements) use the envelope's signature scheme:
``sign_compact(private_key, canonical_json(statement))`` gives the 64-byte r||s, and
``verify_compact(public_key, signature, message)`` is True only for a valid low-S one.
"""

from .encoding import b64u_decode, b64u_encode, canonical_json
from .envelope import (
    ENVELOPE_FIELDS,
    MAX_ENVELOPE_BYTES,
    MAX_PLAINTEXT_BYTES,
    Envelope,
    OpenedMessage,
    envelope_to_bytes,
    open_envelope,
    parse_envelope,
    seal,
    seal_to_bytes,
    verify_envelope_signature,
)
from .errors import (
    BadMac,
    BadSignature,
    CryptoError,
    InvalidKey,
    InvalidPayload,
    MalformedEnvelope,
    ReplayRejected,
    StatementRejected,
    UnsupportedVersion,
)
from .keys import (
    PrivateKey,
    PublicKey,
    generate_private_key,
    key_id,
    load_private_key,
    load_public_key,
    load_public_key_b64,
    private_key_b64,
    private_key_hex,
    public_key_b64,
    public_key_bytes,
)
from .payloads import (
    CLOCK_SKEW,
    MAX_REQUEST_TTL,
    MESSAGE_TYPES,
    METER_MESSAGE_TYPES,
    PROTOCOL_V2,
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    ErrorReport,
    MsgType,
    Reading,
    ReadingV2,
    ReadRequest,
    ReadRequestV2,
    check_read_request,
    check_reading,
    format_timestamp,
    new_nonce,
    new_read_request,
    parse_timestamp,
    validate_payload,
)
from .primitives import sign_compact, verify_compact
from .statements import (
    STATEMENTS_HEADER,
    Trust,
    TrustedKey,
    apply_statements,
    check_statement,
    decode_statements_header,
    encode_statements_header,
    make_endorsement,
    make_revocation,
)

# The sender id the server signs read requests with.
SERVER_SENDER_ID = "server"

__all__ = [
    "CLOCK_SKEW",
    "ENVELOPE_FIELDS",
    "MAX_ENVELOPE_BYTES",
    "MAX_PLAINTEXT_BYTES",
    "MAX_REQUEST_TTL",
    "MESSAGE_TYPES",
    "METER_MESSAGE_TYPES",
    "PROTOCOL_V2",
    "PROTOCOL_VERSION",
    "SERVER_SENDER_ID",
    "STATEMENTS_HEADER",
    "SUPPORTED_VERSIONS",
    "BadMac",
    "BadSignature",
    "CryptoError",
    "Envelope",
    "ErrorReport",
    "InvalidKey",
    "InvalidPayload",
    "MalformedEnvelope",
    "MsgType",
    "OpenedMessage",
    "PrivateKey",
    "PublicKey",
    "ReadRequest",
    "ReadRequestV2",
    "Reading",
    "ReadingV2",
    "ReplayRejected",
    "StatementRejected",
    "Trust",
    "TrustedKey",
    "UnsupportedVersion",
    "apply_statements",
    "b64u_decode",
    "b64u_encode",
    "canonical_json",
    "check_read_request",
    "check_reading",
    "check_statement",
    "decode_statements_header",
    "encode_statements_header",
    "envelope_to_bytes",
    "format_timestamp",
    "generate_private_key",
    "key_id",
    "load_private_key",
    "load_public_key",
    "load_public_key_b64",
    "make_endorsement",
    "make_revocation",
    "new_nonce",
    "new_read_request",
    "open_envelope",
    "parse_envelope",
    "parse_timestamp",
    "private_key_b64",
    "private_key_hex",
    "public_key_b64",
    "public_key_bytes",
    "seal",
    "seal_to_bytes",
    "sign_compact",
    "validate_payload",
    "verify_compact",
    "verify_envelope_signature",
]
