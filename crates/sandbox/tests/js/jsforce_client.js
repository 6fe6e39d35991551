// Drives jsforce, the JavaScript client for Salesforce, unchanged against a sandbox: only its
// login URL points at the sandbox (jsforce accepts http:// URLs, so no TLS is needed).
//
// Usage: NODE_PATH=<repo>/.node/node_modules node jsforce_client.js BASE_URL
// Prints one JSON object (the last line of stdout) describing what the client saw; the Rust
// test checks it against the sandbox's own state.
'use strict';

const jsforce = require('jsforce');

const base = process.argv[2];
const version = '59.0';

/** What a failing call threw: jsforce names errors after the platform's errorCode. */
async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (e) {
    return { name: e.name, errorCode: e.errorCode || null, message: e.message };
  }
}

async function revoke(token) {
  const r = await fetch(`${base}/services/oauth2/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  if (r.status !== 200) throw new Error(`revoke answered ${r.status}`);
}

async function main() {
  const out = { jsforce: jsforce.VERSION };

  // SOAP login (no client id and secret given).
  const conn = new jsforce.Connection({ loginUrl: base, version });
  const info = await conn.login('admin@example.com', 'admin');
  out.soap_login = { userInfo: info, instanceUrl: conn.instanceUrl };
  out.bad_login = await failure(
    new jsforce.Connection({ loginUrl: base, version }).login('admin@example.com', 'wrong'),
  );

  const Case = conn.sobject('Case');

  // Query, fetching every page; and stopping at maxFetch part-way through the second page.
  const soql = 'SELECT Id, CaseNumber FROM Case ORDER BY CaseNumber';
  const all = await conn.query(soql).execute({ autoFetch: true, maxFetch: 10000 });
  out.query_all = {
    totalSize: all.totalSize,
    done: all.done,
    ids: all.records.map((r) => r.Id),
    first_attributes: all.records[0].attributes,
  };
  const capped = await conn.query(soql, { autoFetch: true, maxFetch: 2100 });
  out.query_capped = {
    totalSize: capped.totalSize,
    done: capped.done,
    fetched: capped.records.length,
    nextRecordsUrl: capped.nextRecordsUrl || null,
  };
  const firstPage = await conn.query(soql);
  const rest = await conn.queryMore(firstPage.nextRecordsUrl);
  out.query_more = {
    first: firstPage.records.length,
    first_done: firstPage.done,
    rest: rest.records.length,
    rest_done: rest.done,
    same_as_autofetch:
      JSON.stringify(firstPage.records.concat(rest.records).map((r) => r.Id)) ===
      JSON.stringify(out.query_all.ids),
  };
  // The SOQL builder; `*` is expanded through describe.
  const found = await Case.find({ Status: 'New', Priority: 'High' }, '*')
    .sort('CaseNumber')
    .limit(7);
  out.find = {
    ids: found.map((r) => r.Id),
    statuses: [...new Set(found.map((r) => r.Status))],
    has_all_fields: found.length > 0 && 'External_Key__c' in found[0] && 'Subject' in found[0],
  };
  out.count_new = await Case.count({ Status: 'New' });

  // Create one, and several through sObject Collections (one of them invalid).
  const one = await Case.create({ Subject: 'Created by jsforce', Origin: 'Web', Priority: 'High' });
  out.create_one = one;
  const many = await Case.create([
    { Subject: 'jsforce batch 1', Origin: 'Email' },
    { Subject: 'jsforce batch 2', Status: 'Bogus' },
    { Subject: 'jsforce batch 3', Priority: 'Low' },
  ]);
  out.create_many = many;
  const manyIds = many.filter((r) => r.success).map((r) => r.id);

  // Read back: one record, and several (describe, then composite/sobjects/Case).
  const got = await Case.retrieve(one.id);
  out.retrieve_one = {
    attributes: got.attributes,
    Id: got.Id,
    Subject: got.Subject,
    Status: got.Status,
    Priority: got.Priority,
    CaseNumber: got.CaseNumber,
  };
  const gotMany = await Case.retrieve([...manyIds, one.id]);
  out.retrieve_many = gotMany.map((r) => (r ? { Id: r.Id, Subject: r.Subject } : null));

  // Update one (204 becomes a save result) and several (composite/sobjects PATCH).
  out.update_one = await Case.update({ Id: one.id, Status: 'Working', Subject: 'Updated by jsforce' });
  out.update_many = await Case.update(
    manyIds.map((id, i) => ({ Id: id, Description: `bulk edit ${i} by jsforce` })),
  );
  out.update_error = await failure(Case.update({ Id: one.id, Status: 'Bogus' }));

  // Upsert by the external id: created, then updated; and several at once.
  out.upsert_created = await Case.upsert(
    { External_Key__c: 'JS-0001', Subject: 'Upserted by jsforce', Origin: 'Phone' },
    'External_Key__c',
  );
  out.upsert_updated = await Case.upsert(
    { External_Key__c: 'JS-0001', Subject: 'Upserted twice by jsforce', Status: 'Escalated' },
    'External_Key__c',
  );
  out.upsert_many = await Case.upsert(
    [
      { External_Key__c: 'JS-0001', Priority: 'Low' },
      { External_Key__c: 'JS-0002', Subject: 'Upserted in a batch by jsforce' },
    ],
    'External_Key__c',
  );

  // Delete one, then several (composite/sobjects?ids=).
  out.destroy_one = await Case.destroy(one.id);
  out.retrieve_deleted = await failure(Case.retrieve(one.id));
  out.destroy_many = await Case.destroy(manyIds);

  // Describe, describe global, limits, identity.
  const described = await Case.describe();
  const ext = described.fields.find((f) => f.name === 'External_Key__c');
  out.describe = {
    name: described.name,
    keyPrefix: described.keyPrefix,
    field_names: described.fields.map((f) => f.name).sort(),
    external_key: ext && { type: ext.type, externalId: ext.externalId, unique: ext.unique },
    status_values: described.fields
      .find((f) => f.name === 'Status')
      .picklistValues.map((p) => p.value),
  };
  const global = await conn.describeGlobal();
  out.global_has_case = global.sobjects.some((o) => o.name === 'Case' && o.keyPrefix === '500');
  const limits = await conn.limits();
  out.limits_daily = limits.DailyApiRequests;
  out.limit_info = conn.limitInfo;
  const me = await conn.identity();
  out.soap_identity = { user_id: me.user_id, organization_id: me.organization_id, username: me.username };

  // A revoked session: jsforce logs in again by itself and retries.
  const before = conn.accessToken;
  await revoke(before);
  out.refreshed_count = await Case.count();
  out.refreshed_new_token = conn.accessToken !== before;

  // SOAP logout ends the session.
  const { instanceUrl, accessToken } = conn;
  await conn.logout();
  const stale = new jsforce.Connection({ instanceUrl, accessToken, version });
  out.after_logout = await failure(stale.query('SELECT Id FROM Case LIMIT 1'));

  // The OAuth 2.0 username-password flow, with the default connected app.
  const oauth = new jsforce.Connection({
    oauth2: { clientId: 'twinsync', clientSecret: 'twinsync-secret', loginUrl: base },
    version,
  });
  const oauthInfo = await oauth.login('admin@example.com', 'admin');
  out.oauth_login = { userInfo: oauthInfo, instanceUrl: oauth.instanceUrl };
  const oauthMe = await oauth.identity();
  out.oauth_identity = {
    user_id: oauthMe.user_id,
    organization_id: oauthMe.organization_id,
    username: oauthMe.username,
    id: oauthMe.id,
  };
  const users = await oauth.query("SELECT Id, Username FROM User WHERE Username = 'admin@example.com'");
  out.oauth_user = users.records[0].Id;
  out.bad_oauth = await failure(
    new jsforce.Connection({
      oauth2: { clientId: 'twinsync', clientSecret: 'twinsync-secret', loginUrl: base },
      version,
    }).login('admin@example.com', 'wrong'),
  );
  // OAuth logout revokes the token.
  const oauthSession = { instanceUrl: oauth.instanceUrl, accessToken: oauth.accessToken, version };
  await oauth.logout();
  const revoked = new jsforce.Connection(oauthSession);
  out.after_oauth_logout = await failure(revoked.query('SELECT Id FROM Case LIMIT 1'));

  process.stdout.write(`\n${JSON.stringify(out)}\n`);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  if (e && e.errorCode) console.error(`errorCode: ${e.errorCode}, data: ${JSON.stringify(e.data)}`);
  process.exit(1);
});
