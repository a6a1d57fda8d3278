//! Native helpers of the web classes (`js/45-blob-formdata.js`):
//! `multipartParse` reads a multipart/form-data body with the `multer` crate.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use javy_plugin_api::javy::quickjs::{Array, ArrayBuffer, Ctx, Exception, Function, Object, Result};

/// Runs `fut` to completion. The body is all in memory, so multer never waits:
/// a future that is still pending after the data ran out is a bug, reported as such.
fn block_on<T>(fut: impl Future<Output = T>) -> Option<T> {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
    }
    None
}

/// One part: name, filename, content type, bytes.
type Part = (String, Option<String>, Option<String>, Vec<u8>);

fn parse(content_type: &str, body: Vec<u8>) -> std::result::Result<Vec<Part>, String> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| format!("{e}"))?;
    let stream = futures_util::stream::once(async move { Ok::<_, Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    block_on(async move {
        let mut parts = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(|e| format!("{e}"))? {
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(|m| m.to_string());
            let data = field.bytes().await.map_err(|e| format!("{e}"))?;
            parts.push((name, filename, content_type, data.to_vec()));
        }
        Ok(parts)
    })
    .unwrap_or_else(|| Err("the multipart parser stalled".to_owned()))
}

/// Adds the web classes' native helpers to the `host` object.
pub fn install<'js>(ctx: &Ctx<'js>, host: &Object<'js>) -> Result<()> {
    host.set(
        "multipartParse",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, content_type: String, data: javy_plugin_api::javy::quickjs::TypedArray<'js, u8>| -> Result<Array<'js>> {
                let body = data.as_bytes().unwrap_or(&[]).to_vec();
                let parts = parse(&content_type, body)
                    .map_err(|e| Exception::throw_type(&ctx, &format!("formData(): invalid multipart/form-data body: {e}")))?;
                let out = Array::new(ctx.clone())?;
                for (i, (name, filename, content_type, bytes)) in parts.into_iter().enumerate() {
                    let part = Array::new(ctx.clone())?;
                    part.set(0, name)?;
                    part.set(1, filename)?;
                    part.set(2, content_type)?;
                    part.set(3, ArrayBuffer::new(ctx.clone(), bytes)?)?;
                    out.set(i, part)?;
                }
                Ok(out)
            },
        )?,
    )?;
    Ok(())
}
