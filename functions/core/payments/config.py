"""Which payment gateway a stage uses, and where it is (environment only).

- `PAYMENT_PROVIDER` (default `razorpay`): the gateway adapter (gateways.py).
- `RAZORPAY_API_BASE_URL`: where the SDK sends API calls. Default: Razorpay's
  own (the SDK's default); on the local stage the sandbox,
  `API_BASE_URL` + `/sandbox-razorpay`.
- `RAZORPAY_CHECKOUT_JS`: Standard Checkout's script. Default
  `https://checkout.razorpay.com/v1/checkout.js`; locally the sandbox's.
- `UPI_VPA`: the discom's UPI id on bills. Default: none (no UPI block on
  bills); locally `discom.sandbox@razorpay`.
- `UPI_PAYEE_NAME`, `MERCHANT_NAME` (default `Discom Electricity`): the payee
  name a UPI app shows, the name on the checkout.

The keys come from the secret store (secrets.py), never from here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.core.settings import get_settings

SANDBOX_PREFIX = "/sandbox-razorpay"
RAZORPAY_CHECKOUT_JS = "https://checkout.razorpay.com/v1/checkout.js"
LOCAL_UPI_VPA = "discom.sandbox@razorpay"


class PaymentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    provider: Literal["razorpay"] = Field(default="razorpay", alias="PAYMENT_PROVIDER")
    razorpay_api_base_url: str = Field(default="", alias="RAZORPAY_API_BASE_URL")
    razorpay_checkout_js: str = Field(default="", alias="RAZORPAY_CHECKOUT_JS")
    upi_vpa: str = Field(default="", alias="UPI_VPA")
    upi_payee_name: str = Field(default="Discom Electricity", alias="UPI_PAYEE_NAME")
    merchant_name: str = Field(default="Discom Electricity", alias="MERCHANT_NAME")

    @property
    def api_base_url(self) -> str | None:
        """The Razorpay API origin the SDK calls; None means the SDK's default."""
        if self.razorpay_api_base_url:
            return self.razorpay_api_base_url.rstrip("/")
        if get_settings().is_local:
            return sandbox_base_url()
        return None

    @property
    def checkout_js(self) -> str:
        if self.razorpay_checkout_js:
            return self.razorpay_checkout_js
        if get_settings().is_local:
            return sandbox_base_url() + "/v1/checkout.js"
        return RAZORPAY_CHECKOUT_JS

    @property
    def vpa(self) -> str | None:
        if self.upi_vpa:
            return self.upi_vpa
        return LOCAL_UPI_VPA if get_settings().is_local else None


def sandbox_base_url() -> str:
    """The local Razorpay sandbox: served by the API itself on the local stage."""
    return get_settings().api_base_url.rstrip("/") + SANDBOX_PREFIX


def payment_settings() -> PaymentSettings:
    return PaymentSettings()
