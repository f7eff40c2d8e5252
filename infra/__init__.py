"""Infrastructure as code: CloudFormation for AWS (and LocalStack) rendered
from the same table and queue definitions the local stack uses.

- ``infra.stages``: what differs between dev and prod (names, limits, retention).
- ``infra.iam``: which tables, queues and secrets each Lambda function may touch.
- ``infra.resources_template``: the resources stack (tables, queues, DLQ alarms,
  KMS key, server-key secret, static site bucket and CDN, SES identity).
- ``infra.app_template``: post-processing of ``chalice package``'s SAM template.
- ``infra.package``: ``make package``; ``infra.deploy``: ``make deploy STAGE=dev``.
- ``infra.lint``: cfn-lint over every template; ``infra.cost``: the cost model.

See docs/infra.md.
"""
