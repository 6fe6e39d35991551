//! The SOAP partner API's `login` and `logout` calls at `/services/Soap/u/{version}`, which
//! simple-salesforce and jsforce use by default to get a session id.

use super::oauth::check_password;
use super::state::SfState;
use super::versions;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use std::sync::Arc;

/// The text of the first element named `local` (any namespace prefix), unescaped.
fn element_text(xml: &str, local: &str) -> Option<String> {
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let end = rest.find('>')?;
        let tag = &rest[..end];
        if tag.starts_with('/') || tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        let name = tag.split_whitespace().next().unwrap_or("");
        let name = name
            .rsplit(':')
            .next()
            .unwrap_or(name)
            .trim_end_matches('/');
        if name == local {
            if tag.ends_with('/') {
                return Some(String::new());
            }
            let body = &rest[end + 1..];
            let stop = body.find('<').unwrap_or(body.len());
            return Some(unescape(&body[..stop]));
        }
    }
    None
}

/// True when an element named `local` (any prefix) opens somewhere in `xml`.
fn has_element(xml: &str, local: &str) -> bool {
    xml.split('<').skip(1).any(|t| {
        let name = t
            .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .next()
            .unwrap_or("");
        name.rsplit(':').next() == Some(local)
    })
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let Some(semi) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml;charset=UTF-8"),
    );
    r
}

fn fault(code: &str, message: &str) -> Response {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {m}</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{m}</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#,
            m = escape(message)
        ),
    )
}

/// `POST /services/Soap/u/{version}` (and `/c/`): `login` or `logout`.
pub async fn call(
    State(state): State<Arc<SfState>>,
    Path((_api, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let body = String::from_utf8_lossy(&body);
    let version = version.split('/').next().unwrap_or(&version).to_string();
    if versions::parse(&format!("v{version}")).is_none() {
        return fault(
            "UNSUPPORTED_API_VERSION",
            &format!("Invalid Api version specified on URL: {version}"),
        );
    }
    if has_element(&body, "logout") {
        if let Some(sid) = element_text(&body, "sessionId") {
            state.sessions.lock().access.remove(&sid);
        }
        return xml(
            StatusCode::OK,
            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body><logoutResponse/></soapenv:Body></soapenv:Envelope>"#.to_string(),
        );
    }
    if !has_element(&body, "login") {
        return fault(
            "INVALID_SOAP_HEADER",
            "this sandbox answers only the login and logout calls",
        );
    }
    let username = element_text(&body, "username").unwrap_or_default();
    let password = element_text(&body, "password").unwrap_or_default();
    let Some(user) = check_password(&state, &username, &password) else {
        return fault(
            "INVALID_LOGIN",
            "Invalid username, password, security token; or user locked out.",
        );
    };
    let ttl = state.config.session_ttl;
    let sid = state
        .sessions
        .lock()
        .issue(&state.config.org_id, &user, "", ttl);
    let base = state.base_url(&headers);
    let org15 = &state.config.org_id;
    let org18 = state.org_id18();
    let spec = state
        .config
        .users
        .iter()
        .find(|u| u.username.eq_ignore_ascii_case(&username));
    let email = spec
        .and_then(|u| u.email.clone())
        .unwrap_or_else(|| username.clone());
    let full_name = spec.and_then(|u| u.name.clone()).unwrap_or_default();
    xml(
        StatusCode::OK,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result><metadataServerUrl>{base}/services/Soap/m/{version}/{org15}</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>true</sandbox><serverUrl>{base}/services/Soap/u/{version}/{org15}</serverUrl><sessionId>{sid}</sessionId><userId>{user}</userId><userInfo><accessibilityMode>false</accessibilityMode><currencySymbol>$</currencySymbol><orgAttachmentFileSizeLimit>5242880</orgAttachmentFileSizeLimit><orgDefaultCurrencyIsoCode>USD</orgDefaultCurrencyIsoCode><orgDisallowHtmlAttachments>false</orgDisallowHtmlAttachments><orgHasPersonAccounts>false</orgHasPersonAccounts><organizationId>{org18}</organizationId><organizationMultiCurrency>false</organizationMultiCurrency><organizationName>twinsync sandbox</organizationName><profileId xsi:nil="true"/><roleId xsi:nil="true"/><sessionSecondsValid>{secs}</sessionSecondsValid><userDefaultCurrencyIsoCode xsi:nil="true"/><userEmail>{email}</userEmail><userFullName>{name}</userFullName><userId>{user}</userId><userLanguage>en_US</userLanguage><userLocale>en_US</userLocale><userName>{uname}</userName><userTimeZone>GMT</userTimeZone><userType>Standard</userType><userUiSkin>Theme3</userUiSkin></userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"#,
            secs = ttl.as_secs(),
            email = escape(&email),
            name = escape(&full_name),
            uname = escape(&username),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements_whatever_their_prefix() {
        let body = r#"<se:Envelope xmlns:se="x"><se:Body><login xmlns="urn:partner.soap.sforce.com"><username>a@b.c</username><password>p&amp;&#x27;q</password></login></se:Body></se:Envelope>"#;
        assert!(has_element(body, "login"));
        assert!(!has_element(body, "logout"));
        assert_eq!(element_text(body, "username").as_deref(), Some("a@b.c"));
        assert_eq!(element_text(body, "password").as_deref(), Some("p&'q"));
        let body2 = "<n1:login xmlns:n1=\"u\"><n1:username>x</n1:username></n1:login>";
        assert_eq!(element_text(body2, "username").as_deref(), Some("x"));
    }
}
