"""A second, independent S3 client (AWS's boto3) reading what garage-client wrote to a real Garage.

Started by garage-client's integration test `keys::a_leading_slash_round_trips_through_a_second_client`
with one JSON object on stdin (credentials travel there, never in argv or the environment):

    {"endpoint": "...", "region": "garage", "access_key_id": "GK...", "secret_access_key": "...",
     "bucket": "...", "copy": [["<source key>", "<destination key>"], ...]}

It lists the bucket (every page), performs each server-side copy, then reads each destination back,
and prints one JSON object: {"listing": [[key, size, etag], ...], "copies": {dest: md5 hex of body}}.

boto3 sends a key's leading "/" as a literal "//" in the path, which Garage's router trims
(garage_api_s3-2.5.0:router.rs), so a GET of "/etc/hosts" by boto3 would read "etc/hosts". The copy
source travels in the x-amz-copy-source header, whose key part Garage does not trim
(garage_api_common-2.5.0:helpers.rs, parse_bucket_key), so boto3 reads such an object exactly
through a copy.
"""

import hashlib
import json
import sys

import boto3
from botocore.config import Config


def main() -> None:
    req = json.load(sys.stdin)
    s3 = boto3.client(
        "s3",
        endpoint_url=req["endpoint"],
        region_name=req["region"],
        aws_access_key_id=req["access_key_id"],
        aws_secret_access_key=req["secret_access_key"],
        config=Config(
            s3={"addressing_style": "path"},
            # Garage rejects the signed aws-chunked bodies the default sends over http://.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 1},
        ),
    )
    bucket = req["bucket"]
    listing = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            listing.append([obj["Key"], obj["Size"], obj["ETag"].strip('"')])
    copies = {}
    for source, dest in req.get("copy", []):
        s3.copy_object(Bucket=bucket, Key=dest, CopySource={"Bucket": bucket, "Key": source})
        body = s3.get_object(Bucket=bucket, Key=dest)["Body"].read()
        copies[dest] = hashlib.md5(body).hexdigest()
    json.dump({"listing": listing, "copies": copies}, sys.stdout)


if __name__ == "__main__":
    main()
