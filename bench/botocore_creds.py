#!/usr/bin/env python3
"""What AWS CLI v1 does to resolve credentials for a role profile, and no more.

Builds a botocore session for the profile, gives its assume-role provider the
same JSON file cache (~/.aws/cli/cache) that awscli/customizations/assumerole.py
installs, and prints the frozen credentials as credential_process JSON. The
MFA code, when botocore asks for one, is read from stdin (the CLI reads it
with getpass from the terminal).
"""
import json
import os
import sys

import botocore.session
from botocore.credentials import JSONFileCache

session = botocore.session.Session(profile=sys.argv[1])
provider = session.get_component("credential_provider").get_provider("assume-role")
provider.cache = JSONFileCache(os.path.expanduser(os.path.join("~", ".aws", "cli", "cache")))
provider._prompter = lambda prompt: sys.stdin.readline().strip()
creds = session.get_credentials().get_frozen_credentials()
json.dump(
    {
        "Version": 1,
        "AccessKeyId": creds.access_key,
        "SecretAccessKey": creds.secret_key,
        "SessionToken": creds.token,
    },
    sys.stdout,
)
