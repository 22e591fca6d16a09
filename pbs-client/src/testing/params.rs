//! Request parameters and answers of the fake PBS: PBS's envelope, plain-text errors and
//! parameter verification messages.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value};

use crate::types::KeepOptions;

/// An error answer: status and PBS's plain-text message.
pub(super) struct ApiErr(pub(super) StatusCode, pub(super) String);

pub(super) fn bad_request(msg: impl Into<String>) -> ApiErr {
    ApiErr(StatusCode::BAD_REQUEST, msg.into())
}

/// A success answer.
pub(super) struct Answer {
    pub(super) data: Value,
    pub(super) total: Option<u64>,
    pub(super) active: Option<bool>,
    /// A raw `application/octet-stream` body instead of the JSON envelope (downloads).
    pub(super) raw: Option<Vec<u8>>,
}

impl From<Value> for Answer {
    fn from(data: Value) -> Self {
        Answer {
            data,
            total: None,
            active: None,
            raw: None,
        }
    }
}

pub(super) type Reply = Result<Answer, ApiErr>;

pub(super) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json;charset=UTF-8")
        .body(Body::from(body))
        .unwrap_or_default()
}

pub(super) fn pct_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[derive(Clone, Debug)]
pub(super) enum Identity {
    Token { id: String, audit_only: bool },
    Ticket { user: String },
}

impl Identity {
    pub(super) fn auth_id(&self) -> &str {
        match self {
            Identity::Token { id, .. } => id,
            Identity::Ticket { user } => user,
        }
    }
}

/// Request parameters: query and body merged, JSON types kept.
pub(super) struct Params(Map<String, Value>);

impl Params {
    pub(super) fn parse(
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Params, ApiErr> {
        let mut map = Map::new();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let k = k.into_owned();
            if k == "_dc" {
                continue;
            }
            match map.get_mut(&k) {
                Some(Value::Array(a)) => a.push(Value::String(v.into_owned())),
                Some(prev) => {
                    let p = prev.take();
                    *prev = Value::Array(vec![p, Value::String(v.into_owned())]);
                }
                None => {
                    map.insert(k, Value::String(v.into_owned()));
                }
            }
        }
        if !body.is_empty() {
            if body.len() > 64 * 1024 {
                return Err(bad_request("request body too large"));
            }
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if ct.starts_with("application/json") {
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(o)) => map.extend(o),
                    Ok(_) => {
                        return Err(bad_request(
                            "parameter verification errors\nbody: expected object",
                        ));
                    }
                    Err(e) => return Err(bad_request(format!("unable to parse json body - {e}"))),
                }
            } else if ct.starts_with("application/x-www-form-urlencoded") {
                for (k, v) in url::form_urlencoded::parse(body) {
                    map.insert(k.into_owned(), Value::String(v.into_owned()));
                }
            } else {
                return Err(bad_request("unsupported content type"));
            }
        }
        Ok(Params(map))
    }

    pub(super) fn verr(name: &str, msg: &str) -> ApiErr {
        bad_request(format!("parameter verification errors\n\n{name}: {msg}"))
    }

    pub(super) fn str(&self, name: &str) -> Result<Option<String>, ApiErr> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Array(_)) => Err(bad_request("duplicate parameter.")),
            Some(_) => Err(Self::verr(name, "Expected string value.")),
        }
    }

    pub(super) fn req_str(&self, name: &str) -> Result<String, ApiErr> {
        self.str(name)?
            .ok_or_else(|| Self::verr(name, "parameter is missing and it is not optional."))
    }

    pub(super) fn int(&self, name: &str, min: i64) -> Result<Option<i64>, ApiErr> {
        let v = match self.0.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| Self::verr(name, "Expected integer value."))?,
            Some(Value::String(s)) => s
                .parse()
                .map_err(|_| Self::verr(name, "Expected integer value."))?,
            Some(Value::Array(_)) => return Err(bad_request("duplicate parameter.")),
            Some(_) => return Err(Self::verr(name, "Expected integer value.")),
        };
        if v < min {
            return Err(Self::verr(
                name,
                &format!("value must have a minimum value of {min}"),
            ));
        }
        Ok(Some(v))
    }

    pub(super) fn bool(&self, name: &str) -> Result<Option<bool>, ApiErr> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "1" | "on" | "yes" | "true" => Ok(Some(true)),
                "0" | "off" | "no" | "false" => Ok(Some(false)),
                _ => Err(Self::verr(name, "Unable to parse boolean option.")),
            },
            Some(_) => Err(Self::verr(name, "Expected boolean value.")),
        }
    }

    pub(super) fn list(&self, name: &str) -> Vec<String> {
        match self.0.get(name) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub(super) fn keep(&self) -> Result<KeepOptions, ApiErr> {
        let k = |n: &str| -> Result<Option<u64>, ApiErr> {
            Ok(self.int(n, 1)?.and_then(|v| u64::try_from(v).ok()))
        };
        Ok(KeepOptions {
            keep_last: k("keep-last")?,
            keep_hourly: k("keep-hourly")?,
            keep_daily: k("keep-daily")?,
            keep_weekly: k("keep-weekly")?,
            keep_monthly: k("keep-monthly")?,
            keep_yearly: k("keep-yearly")?,
        })
    }
}
