"""One example request body per body model, by model name, for /openapi.json (issue 22).

tests/unit/test_openapi_document.py parses every example with its route's own model, so an
example that stops being valid fails a test instead of misleading a client.
"""

from __future__ import annotations

from typing import Any

from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20_JSON

# secp256k1's generator point, compressed, unpadded base64url: a well-formed public key.
EXAMPLE_PUBLIC_KEY = "Anm-Zn753LusVaBilc6HCwcCm_zbLc4o2VnygVsW-BeY"

EXAMPLES: dict[str, Any] = {
    # Accounts and sign-in
    "SignupBody": {"name": "Asha Verma", "email": "asha@example.in",
                   "mobile": "+919876543210", "password": "correct-horse-battery-9"},
    "EmailBody": {"email": "asha@example.in"},
    "TokenBody": {"token": "q3J8xYb2LmZr0tWk5VfH"},
    "CodeBody": {"challenge": "ch_4f9a2b7c1d", "code": "123456"},
    "ChallengeBody": {"challenge": "ch_4f9a2b7c1d"},
    "PasswordLoginBody": {"email": "asha@example.in", "password": "correct-horse-battery-9"},
    "NameBody": {"name": "Asha Verma"},
    "MobileBody": {"mobile": "+919812345678"},
    "PasswordBody": {"current_password": "correct-horse-battery-9",
                     "new_password": "a-longer-passphrase-2026"},
    "MfaBody": {"enabled": True},
    "ReasonBody": {"reason": "The ID document does not match the name given."},
    "InvitationBody": {"name": "Ravi Kumar", "email": "ravi@discom.example.in",
                       "mobile": "+919811122233"},
    # Meters and the reading endpoint
    "WireEnvelope": {"v": 1, "type": "reading", "sender": "mtr-0123456789abcdef",
                     "rcpt": "server", "epk": EXAMPLE_PUBLIC_KEY,
                     "iv": "AAECAwQFBgcICQoLDA0ODw", "ct": "c2VhbGVkIHJlYWRpbmc",
                     "mac": "bWFj", "sig": "c2ln"},
    "NewMeter": {"serial": "EM-2026-000123", "public_key": EXAMPLE_PUBLIC_KEY,
                 "model": "EM-1", "firmware": "2.1.0",
                 "endpoint_url": "https://meters.example.in/EM-2026-000123/read",
                 "initial_register_wh": 1250000,
                 "capabilities": {"protocol_version": 1}},
    "UpdateEndpoint": {"endpoint_url": "https://meters.example.in/EM-2026-000123/read"},
    "AssignMeter": {"property_id": "prp_0123456789abcdef"},
    "ReplaceMeter": {"new_meter_id": "mtr-fedcba9876543210", "final_register_wh": 1834000,
                     "first_register_wh": 0},
    "RotateMeterKey": {"public_key": EXAMPLE_PUBLIC_KEY},
    "RotateServerKey": {"grace_days": 7},
    "RevokeServerKey": {"key_id": "0123456789abcdef"},
    "UnsuppressBody": {"address": "asha@example.in"},
    # Payments
    "PayBill": {"method": "upi"},
    "OfflinePayment": {"method": "cheque", "reference": "CHQ-004512"},
    "AdminRefund": {"amount": "250.00", "reason": "Charged twice for May",
                    "request_id": "refund-0001-may"},
    "ReconcileDay": {"day": "2026-05-31"},
    # Properties and tenants
    "NewProperty": {"line1": "12 Lodhi Road", "line2": "Flat 3B", "city": "New Delhi",
                    "state": "Delhi", "pincode": "110003", "category": "residential",
                    "sanctioned_load_kw": "5"},
    "TenantInvite": {"email": "tenant@example.in", "move_in": "2026-06-01"},
    "TenancyDates": {"move_in": "2026-06-01", "move_out": "2026-11-30"},
    # Runs
    "StartRun": {"period": "2026-05", "policy": "estimate", "window_hours": 24},
    "ReleaseReading": {"meter_id": "mtr-0123456789abcdef",
                       "reading_key": "2026-05#mtr-0123456789abcdef", "decision": "bill"},
    # Tariffs
    "TariffVersion": DERC_DOMESTIC_2019_20_JSON,
    "PreviewRequest": {"category": "residential", "units": 420, "sanctioned_load_kw": "5",
                       "period": "2026-05"},
    "NewCategory": {"name": "industrial", "label": "Industrial",
                    "description": "Factories and workshops"},
    # Tickets
    "NewTicket": {"category": "meter", "subject": "Meter display is blank",
                  "description": "Since Monday the display shows nothing.",
                  "property_id": "prp_0123456789abcdef"},
    "NewComment": {"body": "The display works again after the power cut."},
    "StatusChange": {"status": "completed", "resolution_note": "Meter replaced on site."},
    "NoticeChannelsBody": {"email": True, "sms": False},
    "LanguageBody": {"language": "hi"},
    # Prepaid
    "SetMode": {"mode": "prepaid", "from_date": "2026-06-01",
                "emergency_credit_paise": 20000, "monthly_reference_paise": 150000},
    "Adjustment": {"key": "adj-2026-05-001", "amount_paise": -5000,
                   "reason": "Meter fault credit for May"},
    "Disputed": {"disputed": True},
    "Recharge": {"amount_paise": 50000, "method": "upi"},
    "DailySms": {"enabled": True},
    "DailyCycleStart": {"day": "2026-06-15"},
    # The payment gateway's webhook (not a model of ours: see openapi._webhook)
    "RazorpayWebhookEvent": {
        "entity": "event", "account_id": "acc_BFQ7uQEaa7j2z7", "event": "payment.captured",
        "contains": ["payment"], "created_at": 1780000000,
        "payload": {"payment": {"entity": {
            "id": "pay_29QQoUBi66xm2f", "entity": "payment", "amount": 138000,
            "currency": "INR", "status": "captured", "order_id": "order_9A33XWu170gUtm",
            "method": "upi", "captured": True, "created_at": 1780000000,
            "notes": {"bill_id": "BILL-prp_0123456789abcdef-2026-05"}}}}},
}
