"""One endpoint switch for every AWS service, and DynamoDB alone elsewhere when asked."""

from __future__ import annotations

from functions.core.settings import Settings


def test_every_service_follows_the_one_endpoint_unless_dynamodb_has_its_own():
    one = Settings(AWS_ENDPOINT_URL="http://127.0.0.1:5000")
    assert one.endpoint_for("dynamodb") == one.endpoint_for("sqs") == "http://127.0.0.1:5000"
    split = Settings(AWS_ENDPOINT_URL="http://127.0.0.1:5000",
                     AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:8001")
    assert split.endpoint_for("dynamodb") == "http://127.0.0.1:8001"
    assert split.endpoint_for("sqs") == split.endpoint_for("ses") == "http://127.0.0.1:5000"
    assert Settings(AWS_ENDPOINT_URL=None).endpoint_for("dynamodb") is None  # AWS itself
