#!/usr/bin/env python3
"""Prepares a moto server started with INITIAL_NO_AUTH_ACTION_COUNT=0 (every request SigV4-verified) for the tests.

moto verifies signatures against its own IAM users, so one must exist first: this script lets exactly three
requests through unauthenticated (moto's /moto-api/reset-auth), spends them creating a user, its policy and its
access key, and prints `export` lines for the key. From then on every request must be signed with that key.
usage: moto_bootstrap.py ENDPOINT
"""
import json
import sys
import urllib.request

import boto3

endpoint = sys.argv[1]
urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"3", method="POST", headers={"Content-Type": "text/plain"})).read()
iam = boto3.client(
    "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bootstrap", aws_secret_access_key="x"
)
iam.create_user(UserName="tr-tests")
policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sqs:*", "s3:*"], "Resource": "*"}]}
iam.put_user_policy(UserName="tr-tests", PolicyName="tr-tests", PolicyDocument=json.dumps(policy))
key = iam.create_access_key(UserName="tr-tests")["AccessKey"]
print(f"export TR_MOTO_ENDPOINT={endpoint}")
print(f"export TR_MOTO_ACCESS_KEY_ID={key['AccessKeyId']}")
print(f"export TR_MOTO_SECRET_ACCESS_KEY={key['SecretAccessKey']}")
