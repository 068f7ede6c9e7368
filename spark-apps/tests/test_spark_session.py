"""spark_session.s3a_conf: the s3a settings local Spark gets from the S3_* variables (values stated by hand)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spark_session import s3a_conf  # noqa: E402

KEYS = {"S3_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00", "S3_SECRET_ACCESS_KEY": "s" * 40}


def test_no_endpoint_no_settings():
    assert s3a_conf({}) == {}
    assert s3a_conf({"S3_ENDPOINT": "", **KEYS}) == {}


def test_http_endpoint():
    assert s3a_conf({"S3_ENDPOINT": "http://127.0.0.1:9100", "S3_REGION": "eu-west-3", **KEYS}) == {
        "spark.hadoop.fs.s3a.endpoint": "http://127.0.0.1:9100",
        "spark.hadoop.fs.s3a.endpoint.region": "eu-west-3",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
        "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "spark.hadoop.fs.s3a.access.key": "AKIAEXAMPLEEXAMPLE00",
        "spark.hadoop.fs.s3a.secret.key": "s" * 40,
    }


def test_https_endpoint_and_default_region():
    conf = s3a_conf({"S3_ENDPOINT": "https://s3.example.org", **KEYS})
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "true"
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == "us-east-1"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"S3_ENDPOINT": "ftp://x", **KEYS}, "http"),
        ({"S3_ENDPOINT": "127.0.0.1:9100", **KEYS}, "http"),
        ({"S3_ENDPOINT": "http://x", "S3_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00"}, "S3_SECRET_ACCESS_KEY"),
        ({"S3_ENDPOINT": "http://x"}, "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"),
    ],
)
def test_refuses_incomplete_settings(env, message):
    with pytest.raises(ValueError, match=message):
        s3a_conf(env)
