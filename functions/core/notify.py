"""Email through SES, SMS through SNS. Locally the emulator keeps what was
sent (see `make outbox`); in AWS they go out for real."""

from __future__ import annotations

from functions.core.aws import client
from functions.core.logs import logger, mask_email, mask_mobile
from functions.core.settings import get_settings


def send_email(to: str, subject: str, text: str) -> str:
    response = client("ses").send_email(
        Source=get_settings().mail_from,
        Destination={"ToAddresses": [to]},
        Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                 "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}},
    )
    # Subject lines never carry secrets; bodies may (links, codes), so they are not logged.
    logger.info("email sent", extra={"to": mask_email(to), "subject": subject})
    return str(response["MessageId"])


def send_sms(mobile: str, text: str) -> str:
    response = client("sns").publish(
        PhoneNumber=mobile, Message=text,
        MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String",
                                                   "StringValue": "Transactional"}},
    )
    logger.info("sms sent", extra={"to": mask_mobile(mobile)})
    return str(response["MessageId"])
