//! Virtual MFA devices on a user's page: assign (CreateVirtualMFADevice, then a QR code of the
//! `otpauth://` URI and the secret for manual entry, then EnableMFADevice with two consecutive
//! codes) and remove (DeactivateMFADevice + DeleteVirtualMFADevice).
//!
//! The device's seed is shown only on the assignment page. Until the device is enabled the
//! console keeps it in the session (memory only) so that a mistyped pair of codes can be
//! retried without a new device; enabling, or starting another assignment, drops it.

use super::kit::{P, error_status, items, page_status, txt};
use crate::html::{error_box, esc, seg};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde_json::json;

/// The `otpauth://` URI an authenticator app reads (RFC 6238 defaults: SHA1, 6 digits, 30 s).
pub fn otpauth_uri(user: &str, account: &str, seed_b32: &str) -> String {
    let enc = |s: &str| {
        form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    format!(
        "otpauth://totp/{}:{}?secret={seed_b32}&issuer={}",
        enc("kagi"),
        enc(&format!("{user}@{account}")),
        enc("kagi")
    )
}

/// The QR code of `text` as an inline SVG element (no script, no inline style).
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build();
            let svg = match svg.find("<svg") {
                Some(at) => &svg[at..],
                None => &svg,
            };
            svg.replacen(
                "<svg ",
                r#"<svg role="img" aria-label="QR code for the authenticator app" "#,
                1,
            )
        }
        Err(_) => String::new(),
    }
}

impl P<'_> {
    /// The MFA section of a user's page.
    pub(super) fn mfa_section(&self, user: &str) -> String {
        let base = format!("/console/users/{}", seg(user));
        let csrf = self.csrf();
        let mut o = String::from("<h2>Multi-factor authentication (MFA)</h2>");
        match self.call("iam", "ListMFADevices", json!({"UserName": user})) {
            Ok(v) => {
                let list = items(&v, "MFADevices");
                if list.is_empty() {
                    o.push_str("<p>No MFA device assigned.</p>");
                } else {
                    let rows: String = list
                        .iter()
                        .map(|d| {
                            let serial = txt(&d["SerialNumber"]);
                            format!(
                                r#"<tr><td><code>{s}</code></td><td>{e}</td><td><form method="post" action="{base}/mfa/remove" class="inline">{csrf}<input type="hidden" name="SerialNumber" value="{s}"><button type="submit">Remove</button></form></td></tr>"#,
                                s = esc(&serial),
                                e = esc(&txt(&d["EnableDate"])),
                            )
                        })
                        .collect();
                    o.push_str(&format!(
                        "<table><thead><tr><th>Identifier</th><th>Assigned</th><th>Actions</th></tr></thead><tbody>{rows}</tbody></table>"
                    ));
                }
            }
            Err(e) => o.push_str(&error_box(&e.code, &e.message)),
        }
        o.push_str(&format!(
            r#"<form method="post" action="{base}/mfa">{csrf}
<label for="mfa-device-name">Device name</label> <input type="text" id="mfa-device-name" name="VirtualMFADeviceName" required maxlength="226" value="{u}">
<button type="submit">Assign MFA device</button></form>"#,
            u = esc(user)
        ));
        o
    }

    fn mfa_setup_page(
        &self,
        user: &str,
        serial: &str,
        seed_b32: &str,
        problem: Option<&str>,
        status: StatusCode,
    ) -> Response {
        let uri = otpauth_uri(user, &self.account(), seed_b32);
        page_status(
            status,
            "Set up virtual MFA device",
            Some(self.s),
            &format!(
                r#"{problem}<ol><li>Install a compatible authenticator app on your phone or computer.</li>
<li>Open it and scan this QR code (or type the secret key instead).<div class="qr">{qr}</div>
<details><summary>Show secret key</summary><p><code>{seed}</code></p></details></li>
<li>Type two consecutive codes from the app.</li></ol>
<form method="post" action="/console/users/{u}/mfa/enable">{csrf}
<input type="hidden" name="SerialNumber" value="{serial}">
<label for="mfa-code-1">MFA code 1</label> <input type="text" id="mfa-code-1" name="AuthenticationCode1" required inputmode="numeric" pattern="[0-9]{{6}}" maxlength="6" autocomplete="off">
<label for="mfa-code-2">MFA code 2</label> <input type="text" id="mfa-code-2" name="AuthenticationCode2" required inputmode="numeric" pattern="[0-9]{{6}}" maxlength="6" autocomplete="off">
<button type="submit">Add MFA</button></form>"#,
                problem = problem.unwrap_or(""),
                qr = qr_svg(&uri),
                seed = esc(seed_b32),
                u = seg(user),
                csrf = self.csrf(),
                serial = esc(serial),
            ),
        )
    }

    pub(super) fn assign_mfa(&self, user: &str) -> Response {
        let name = self.field("VirtualMFADeviceName");
        let out = match self.call(
            "iam",
            "CreateVirtualMFADevice",
            json!({"VirtualMFADeviceName": name}),
        ) {
            Ok(v) => v,
            Err(e) => return self.failed("Assign MFA device", &e),
        };
        let d = &out["VirtualMFADevice"];
        let serial = txt(&d["SerialNumber"]);
        // Base32StringSeed is a blob: base64 of the base32 text.
        let seed = base64::engine::general_purpose::STANDARD
            .decode(txt(&d["Base32StringSeed"]))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let (s2, seed2) = (serial.clone(), seed.clone());
        self.c
            .sessions
            .update(self.sid, |s| s.pending_mfa_seed = Some((s2, seed2)));
        self.mfa_setup_page(user, &serial, &seed, None, StatusCode::OK)
    }

    pub(super) fn enable_mfa(&self, user: &str) -> Response {
        let serial = self.field("SerialNumber");
        match self.call(
            "iam",
            "EnableMFADevice",
            json!({"UserName": user, "SerialNumber": serial,
                "AuthenticationCode1": self.field("AuthenticationCode1"),
                "AuthenticationCode2": self.field("AuthenticationCode2")}),
        ) {
            Ok(_) => {
                self.c
                    .sessions
                    .update(self.sid, |s| s.pending_mfa_seed = None);
                self.done(
                    &format!("/console/users/{}#security-credentials", seg(user)),
                    "MFA device assigned.",
                )
            }
            Err(e) => match &self.s.pending_mfa_seed {
                Some((s, seed)) if *s == serial => self.mfa_setup_page(
                    user,
                    &serial,
                    seed,
                    Some(&error_box(&e.code, &e.message)),
                    error_status(&e),
                ),
                _ => self.failed("Add MFA", &e),
            },
        }
    }

    pub(super) fn remove_mfa(&self, user: &str) -> Response {
        let serial = self.field("SerialNumber");
        if let Err(e) = self.call(
            "iam",
            "DeactivateMFADevice",
            json!({"UserName": user, "SerialNumber": serial}),
        ) {
            return self.failed("Remove MFA device", &e);
        }
        if let Err(e) = self.call(
            "iam",
            "DeleteVirtualMFADevice",
            json!({"SerialNumber": serial}),
        ) {
            return self.failed("Remove MFA device", &e);
        }
        self.done(
            &format!("/console/users/{}#security-credentials", seg(user)),
            "MFA device removed.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otpauth_uri_and_qr() {
        let uri = otpauth_uri("user-for-switch", "123456789012", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/kagi:user-for-switch%40123456789012?secret=JBSWY3DPEHPK3PXP&issuer=kagi"
        );
        let svg = qr_svg(&uri);
        assert!(
            svg.starts_with(r#"<svg role="img" aria-label="QR code"#),
            "{svg}"
        );
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("style") && !svg.contains("<?xml"));
    }
}
