#!/usr/bin/env python3
"""An independent S3 client for the tests (boto3), standing in for SES inbound: it creates the raw-mail bucket
with an event notification to a queue, and writes raw mail into it, so the S3 events the email lane reads are
moto's own, not ours.

usage: s3_tool.py bucket NAME QUEUE_URL     -> creates the bucket; ObjectCreated:* events go to the queue
       s3_tool.py put BUCKET KEY FILE       -> PutObject of the file's bytes (SES writes raw MIME like this)
       s3_tool.py delete BUCKET KEY         -> DeleteObject
Endpoint and credentials come from TR_MOTO_ENDPOINT, TR_MOTO_ACCESS_KEY_ID, TR_MOTO_SECRET_ACCESS_KEY.
"""
import os
import sys

import boto3


def client(service):
    return boto3.client(
        service,
        endpoint_url=os.environ["TR_MOTO_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id=os.environ["TR_MOTO_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["TR_MOTO_SECRET_ACCESS_KEY"],
    )


def main():
    s3 = client("s3")
    if sys.argv[1] == "bucket":
        name, queue_url = sys.argv[2], sys.argv[3]
        arn = client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.create_bucket(Bucket=name)
        s3.put_bucket_notification_configuration(
            Bucket=name,
            NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
        )
    elif sys.argv[1] == "put":
        with open(sys.argv[4], "rb") as f:
            s3.put_object(Bucket=sys.argv[2], Key=sys.argv[3], Body=f.read())
    elif sys.argv[1] == "delete":
        s3.delete_object(Bucket=sys.argv[2], Key=sys.argv[3])
    else:
        sys.exit(f"unknown command {sys.argv[1]}")


if __name__ == "__main__":
    main()
