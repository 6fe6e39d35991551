"""Drives ServiceNow's own Python client, pysnc, unchanged against a sandbox.

Values are read with get_value(): pysnc asks for sysparm_display_value=all, so each field
arrives as {display_value, value}, exactly as from a real instance.

Usage: pysnc_client.py BASE_URL CA_CERT
Prints one JSON object describing what the client saw; the Rust test checks it against the
sandbox's own state.
"""
import json
import sys

from pysnc import ServiceNowClient, ServiceNowPasswordGrantFlow

base, cert = sys.argv[1], sys.argv[2]
out = {}

client = ServiceNowClient(base, ("itil", "itil"), verify=cert)

# Query with paging: a small batch size makes pysnc walk several pages by offset.
gr = client.GlideRecord("incident", batch_size=7)
gr.add_query("active", "true")
gr.add_query("priority", "<=", "3")
gr.order_by("number")
gr.query()
out["query_total"] = len(gr)
out["query_numbers"] = [r.number.get_value() for r in gr]
out["query_caller_display"] = None
gr2 = client.GlideRecord("incident")
gr2.add_query("number", "INC0010001")
gr2.query()
if gr2.next():
    out["query_caller_display"] = gr2.caller_id.get_display_value()
    out["query_state_display"] = gr2.state.get_display_value()

# Insert.
new = client.GlideRecord("incident")
new.initialize()
new.short_description = "Created by pysnc"
new.impact = 1
new.urgency = 1
new.comments = "first comment from pysnc"
sys_id = new.insert()
out["inserted_sys_id"] = str(sys_id)
out["inserted_number"] = new.number.get_value()
out["inserted_priority"] = new.priority.get_value()

# Update.
upd = client.GlideRecord("incident")
assert upd.get(str(sys_id)), "get by sys_id"
upd.short_description = "Updated by pysnc"
upd.work_notes = "work note from pysnc"
upd.update()
out["updated_short_description"] = upd.short_description.get_value()
out["updated_mod_count"] = upd.sys_mod_count.get_value()

# Attachment upload, then read it back through the client.
content = bytes(range(256)) * 10 + b"\x00end"
location = upd.add_attachment("pysnc.bin", content, "application/octet-stream")
out["attachment_location"] = location
attachments = upd.get_attachments()
files = []
for a in attachments:
    files.append({"file_name": str(a.file_name), "read_back_equal": a.read() == content})
out["attachments"] = files

# Several records updated in one Batch API call.
bulk = client.GlideRecord("incident")
bulk.add_query("number", "IN", "INC0010002,INC0010003,INC0010004")
bulk.query()
for r in bulk:
    r.description = "bulk edit by pysnc"
out["update_multiple"] = bulk.update_multiple()

# OAuth password grant through /oauth_token.do.
oauth = ServiceNowClient(base, ServiceNowPasswordGrantFlow("admin", "admin", "twinsync", "twinsync-secret"), verify=cert)
users = oauth.GlideRecord("sys_user")
users.add_query("active", "true")
users.query()
out["oauth_user_count"] = len(users)

# Delete.
gone = client.GlideRecord("incident")
gone.add_query("number", "INC0010005")
gone.query()
gone.next()
out["deleted"] = gone.delete()

print(json.dumps(out))
