"""Drives simple-salesforce, the Python client for Salesforce, unchanged against a sandbox.

simple-salesforce always speaks https to the instance, so the sandbox serves TLS and the
requests session trusts its CA. The only thing pointed at the sandbox is the login URL:
SalesforceLogin's scratch_url for the SOAP login, and a session that sends
https://login.salesforce.com to the sandbox for the logins Salesforce() makes itself (SOAP
with a security token, and the OAuth username-password flow).

Usage: simple_salesforce_client.py BASE_URL CA_CERT
Prints one JSON object describing what the client saw; the Rust test checks it against the
sandbox's own state.
"""
import json
import sys

import requests
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
)

base, cert = sys.argv[1], sys.argv[2]
LOGIN = "https://login.salesforce.com"
out = {}


class LoginUrlSession(requests.Session):
    """A session that sends the hard-coded login host to the sandbox; nothing else changes."""

    def request(self, method, url, *args, **kwargs):
        if url.startswith(LOGIN):
            url = base + url[len(LOGIN):]
        return super().request(method, url, *args, **kwargs)


def trusting(session):
    session.verify = cert
    return session


def error_of(call):
    """The class name, HTTP status and first errorCode of the exception `call` raises."""
    try:
        call()
    except SalesforceError as e:
        content = e.content if isinstance(e.content, list) else []
        code = content[0].get("errorCode") if content and isinstance(content[0], dict) else None
        return {"error": type(e).__name__, "status": e.status, "errorCode": code}
    return None


s = trusting(requests.Session())

# SOAP login through the library's own SalesforceLogin, then direct mode with its session id.
session_id, instance = SalesforceLogin(
    username="admin@example.com",
    password="admin",
    security_token="",
    scratch_url=base,
    session=s,
)
out["soap_instance"] = instance
sf = Salesforce(instance_url=f"https://{instance}", session_id=session_id, session=s)
out["base_url"] = sf.base_url

# A failed login raises SalesforceAuthenticationFailed with the platform's fault code.
try:
    SalesforceLogin(
        username="admin@example.com",
        password="wrong",
        security_token="",
        scratch_url=base,
        session=s,
    )
    out["bad_login"] = None
except SalesforceAuthenticationFailed as e:
    out["bad_login"] = {"code": e.code, "message": e.auth_message}

# Query with paging: one page of 2000, the rest through query_more (by URL and by locator).
soql = "SELECT Id, CaseNumber FROM Case ORDER BY CaseNumber"
first = sf.query(soql)
out["query_first"] = {
    "totalSize": first["totalSize"],
    "done": first["done"],
    "records": len(first["records"]),
    "nextRecordsUrl": first.get("nextRecordsUrl"),
    "first_type": first["records"][0]["attributes"]["type"],
}
more = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
out["query_more"] = {
    "done": more["done"],
    "records": len(more["records"]),
    "ids": [r["Id"] for r in more["records"]],
}
again = sf.query_more(first["nextRecordsUrl"].rsplit("/", 1)[1])
out["query_more_by_locator_same"] = [r["Id"] for r in again["records"]] == out["query_more"]["ids"]
out["query_pages_ids"] = [r["Id"] for r in first["records"]] + out["query_more"]["ids"]

every = sf.query_all("SELECT Id, CaseNumber, Status FROM Case ORDER BY CaseNumber")
out["query_all"] = {
    "totalSize": every["totalSize"],
    "done": every["done"],
    "ids": [r["Id"] for r in every["records"]],
}
# Spaces and quotes arrive as `+` and %27 through requests' params.
new_cases = sf.query("SELECT Id FROM Case WHERE Status = 'New' AND Priority != 'Low'")
out["query_filtered_total"] = new_cases["totalSize"]

# Create, read, update.
created = sf.Case.create(
    {
        "Subject": "Created by simple-salesforce",
        "Origin": "Web",
        "Priority": "High",
        "Description": "first line\nsecond line, with \u00e9 and \"quotes\"",
    }
)
out["created"] = created
case_id = created["id"]
got = sf.Case.get(case_id)
out["got"] = {
    "attributes": got["attributes"],
    "Id": got["Id"],
    "Subject": got["Subject"],
    "Status": got["Status"],
    "Priority": got["Priority"],
    "Description": got["Description"],
    "CaseNumber": got["CaseNumber"],
}
out["updated_status"] = sf.Case.update(
    case_id, {"Status": "Working", "Subject": "Updated by simple-salesforce"}
)
out["got_after_update"] = sf.Case.get(case_id)["Status"]

# Upsert by an external id: created (201), then the same key again updates it (200).
out["upsert_created_status"] = sf.Case.upsert(
    "External_Key__c/SS-0001", {"Subject": "Upserted by simple-salesforce", "Origin": "Phone"}
)
by_key = sf.Case.get_by_custom_id("External_Key__c", "SS-0001")
out["upsert_id"] = by_key["Id"]
out["upsert_updated_status"] = sf.Case.upsert(
    "External_Key__c/SS-0001", {"Subject": "Upserted twice", "Status": "Escalated"}
)
response = sf.Case.upsert("External_Key__c/SS-0001", {"Priority": "Low"}, raw_response=True)
out["upsert_raw"] = {"status": response.status_code, "body": response.json()}
out["upsert_missing_field"] = error_of(
    lambda: sf.Case.upsert("No_Such_Key__c/1", {"Subject": "x"})
)

# Delete, then the record is gone for the client.
out["deleted_status"] = sf.Case.delete(case_id)
out["get_deleted"] = error_of(lambda: sf.Case.get(case_id))
out["update_bad_field"] = error_of(lambda: sf.Case.update(out["upsert_id"], {"Bogus__c": 1}))

# Describe: the object, its metadata summary, and the global list.
described = sf.Case.describe()
fields = {f["name"]: f for f in described["fields"]}
out["describe"] = {
    "name": described["name"],
    "keyPrefix": described["keyPrefix"],
    "field_names": sorted(fields),
    "external_key": {
        k: fields["External_Key__c"][k] for k in ("type", "externalId", "idLookup", "unique", "custom")
    },
}
out["metadata_name"] = sf.Case.metadata()["objectDescribe"]["name"]
out["global_has_case"] = any(o["name"] == "Case" for o in sf.describe()["sobjects"])

# Limits, and the usage the client parsed from the Sforce-Limit-Info header.
limits = sf.limits()
out["limits_daily"] = limits["DailyApiRequests"]
usage = sf.api_usage["api-usage"]
out["api_usage"] = {"used": usage.used, "total": usage.total}

# Salesforce() logging in itself: SOAP with a security token, and the OAuth password flow.
# Only the login host is rewritten; the instance URL comes from the sandbox's answer.
soap = Salesforce(
    username="admin@example.com",
    password="admin",
    security_token="",
    session=trusting(LoginUrlSession()),
)
out["soap_ctor_instance"] = soap.sf_instance
out["soap_ctor_count"] = soap.query("SELECT COUNT() FROM Case")["totalSize"]

oauth = Salesforce(
    username="admin@example.com",
    password="admin",
    consumer_key="twinsync",
    consumer_secret="twinsync-secret",
    session=trusting(LoginUrlSession()),
)
out["oauth_instance"] = oauth.sf_instance
me = oauth.query("SELECT Id, Username FROM User WHERE Username = 'admin@example.com'")
out["oauth_user"] = me["records"][0]["Id"]

# A revoked session: the logged-in client logs in again and retries; a client given only a
# session id reports the expiry.
requests.post(
    f"{base}/services/oauth2/revoke", data={"token": oauth.session_id}, verify=cert
).raise_for_status()
old = oauth.session_id
out["refreshed_count"] = oauth.query("SELECT COUNT() FROM Case")["totalSize"]
out["refreshed_new_session"] = oauth.session_id != old
direct = Salesforce(instance_url=f"https://{instance}", session_id=old, session=s)
out["revoked_direct"] = error_of(lambda: direct.query("SELECT Id FROM Case LIMIT 1"))

bad_oauth = None
try:
    Salesforce(
        username="admin@example.com",
        password="wrong",
        consumer_key="twinsync",
        consumer_secret="twinsync-secret",
        session=trusting(LoginUrlSession()),
    )
except SalesforceAuthenticationFailed as e:
    bad_oauth = {"code": e.code, "message": e.auth_message}
out["bad_oauth"] = bad_oauth

print(json.dumps(out))
