#!/usr/bin/env python3
"""An independent SQS client for the tests (boto3, the AWS SDK for Python), so that what our client sends is
read back by code that shares nothing with it.

usage: sqs_tool.py create NAME [VIS]      -> prints the queue URL (NAME ending .fifo makes a FIFO queue;
                                             VIS sets the visibility timeout in seconds)
       sqs_tool.py send QUEUE_URL BODY     -> sends one message
       sqs_tool.py depth QUEUE_URL         -> prints "visible in-flight" message counts
       sqs_tool.py receive QUEUE_URL N [S] -> waits for up to N messages (S seconds, default 10), prints them as JSON,
                                             deletes them
Endpoint and credentials come from TR_MOTO_ENDPOINT, TR_MOTO_ACCESS_KEY_ID, TR_MOTO_SECRET_ACCESS_KEY.
"""
import json
import os
import sys
import time

import boto3


def client():
    return boto3.client(
        "sqs",
        endpoint_url=os.environ["TR_MOTO_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id=os.environ["TR_MOTO_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["TR_MOTO_SECRET_ACCESS_KEY"],
    )


def main():
    sqs = client()
    if sys.argv[1] == "create":
        name = sys.argv[2]
        attrs = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
        if len(sys.argv) > 3:
            attrs["VisibilityTimeout"] = sys.argv[3]
        print(sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"])
    elif sys.argv[1] == "receive":
        url, want = sys.argv[2], int(sys.argv[3])
        wait = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
        got, deadline = [], time.time() + wait
        while len(got) < want and time.time() < deadline:
            answer = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
            )
            for m in answer.get("Messages", []):
                attrs = {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}
                got.append({"body": m["Body"], "attributes": attrs})
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        print(json.dumps(got))
    elif sys.argv[1] == "send":
        sqs.send_message(QueueUrl=sys.argv[2], MessageBody=sys.argv[3])
    elif sys.argv[1] == "depth":
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        a = sqs.get_queue_attributes(QueueUrl=sys.argv[2], AttributeNames=names)["Attributes"]
        print(a[names[0]], a[names[1]])
    else:
        sys.exit(f"unknown command {sys.argv[1]}")


if __name__ == "__main__":
    main()
