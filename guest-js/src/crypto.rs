//! Native halves of `crypto.subtle` (see `js/85-crypto.js`): digests (SHA-1,
//! SHA-2) and HMAC. The JS runtime validates algorithms, keys and usages and
//! passes canonical hash names ("SHA-256") here.

use hmac::{Hmac, Mac};
use javy_plugin_api::javy::quickjs::{ArrayBuffer, Ctx, Exception, Function, Object, Result, TypedArray};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

fn bytes_of<'a>(data: &'a TypedArray<'_, u8>) -> &'a [u8] {
    data.as_bytes().unwrap_or(&[])
}

fn unsupported(ctx: &Ctx<'_>, hash: &str) -> javy_plugin_api::javy::quickjs::Error {
    Exception::throw_type(ctx, &format!("unsupported hash algorithm \"{hash}\""))
}

fn digest(hash: &str, data: &[u8]) -> Option<Vec<u8>> {
    Some(match hash {
        "SHA-1" => Sha1::digest(data).to_vec(),
        "SHA-256" => Sha256::digest(data).to_vec(),
        "SHA-384" => Sha384::digest(data).to_vec(),
        "SHA-512" => Sha512::digest(data).to_vec(),
        _ => return None,
    })
}

/// Runs `f` with an HMAC keyed by `key` over the named hash, fed with `data`.
macro_rules! with_hmac {
    ($hash:expr, $key:expr, $data:expr, |$mac:ident| $body:expr) => {
        match $hash {
            "SHA-1" => Some(with_hmac!(@one Sha1, $key, $data, |$mac| $body)),
            "SHA-256" => Some(with_hmac!(@one Sha256, $key, $data, |$mac| $body)),
            "SHA-384" => Some(with_hmac!(@one Sha384, $key, $data, |$mac| $body)),
            "SHA-512" => Some(with_hmac!(@one Sha512, $key, $data, |$mac| $body)),
            _ => None,
        }
    };
    (@one $d:ty, $key:expr, $data:expr, |$mac:ident| $body:expr) => {{
        // HMAC accepts keys of any length.
        let mut $mac = <Hmac<$d> as Mac>::new_from_slice($key).expect("HMAC takes any key length");
        $mac.update($data);
        $body
    }};
}

/// Adds `digest`, `hmacSign` and `hmacVerify` to the `host` object.
pub fn register<'js>(ctx: &Ctx<'js>, host: &Object<'js>) -> Result<()> {
    host.set(
        "digest",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, hash: String, data: TypedArray<'js, u8>| -> Result<ArrayBuffer<'js>> {
            let out = digest(&hash, bytes_of(&data)).ok_or_else(|| unsupported(&ctx, &hash))?;
            ArrayBuffer::new(ctx, out)
        })?,
    )?;
    host.set(
        "hmacSign",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, hash: String, key: TypedArray<'js, u8>, data: TypedArray<'js, u8>| -> Result<ArrayBuffer<'js>> {
                let out = with_hmac!(hash.as_str(), bytes_of(&key), bytes_of(&data), |mac| mac.finalize().into_bytes().to_vec())
                    .ok_or_else(|| unsupported(&ctx, &hash))?;
                ArrayBuffer::new(ctx, out)
            },
        )?,
    )?;
    host.set(
        "hmacVerify",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, hash: String, key: TypedArray<'js, u8>, signature: TypedArray<'js, u8>, data: TypedArray<'js, u8>| -> Result<bool> {
                // `verify_slice` compares in constant time (and fails on a length mismatch).
                let sig = bytes_of(&signature);
                with_hmac!(hash.as_str(), bytes_of(&key), bytes_of(&data), |mac| mac.verify_slice(sig).is_ok())
                    .ok_or_else(|| unsupported(&ctx, &hash))
            },
        )?,
    )?;
    Ok(())
}
