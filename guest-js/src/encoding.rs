//! Native halves of `btoa`/`atob` (the `base64` crate, with the HTML
//! standard's forgiving decode) and `TextDecoder` (`encoding_rs`, the
//! WHATWG Encoding Standard's labels and decoders). A streaming
//! `TextDecoder` (`decode(chunk, { stream: true })`) keeps its decoder here,
//! by handle, until the stream is flushed or the TextDecoder is collected.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use encoding_rs::{Decoder, DecoderResult, Encoding};
use javy_plugin_api::javy::quickjs::{Ctx, Exception, Function, Object, Result, String as JsString, TypedArray};

/// Standard alphabet; no padding on input (the forgiving decode strips it
/// first) and the leftover bits of a final partial group ignored, as the HTML
/// standard's forgiving-base64 decode does.
const FORGIVING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// <https://infra.spec.whatwg.org/#forgiving-base64-decode>; `None` is failure.
fn forgiving_base64_decode(input: &str) -> Option<Vec<u8>> {
    let mut data: Vec<u8> = input.bytes().filter(|b| !matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')).collect();
    if data.len() % 4 == 0 {
        if data.ends_with(b"==") {
            data.truncate(data.len() - 2);
        } else if data.ends_with(b"=") {
            data.truncate(data.len() - 1);
        }
    }
    if data.len() % 4 == 1 {
        return None;
    }
    // Anything outside the alphabet (including a leftover '=') is an error,
    // which the engine reports too.
    FORGIVING.decode(&data).ok()
}

/// The Encoding Standard's encoding for `label`, or `None` for an unknown
/// label or the "replacement" encoding (which `TextDecoder` rejects).
fn encoding_for(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.as_bytes()).filter(|e| *e != encoding_rs::REPLACEMENT)
}

thread_local! {
    /// The decoders of streaming TextDecoders, by handle.
    static STREAMS: RefCell<HashMap<u32, Decoder>> = RefCell::new(HashMap::new());
    static NEXT_STREAM: Cell<u32> = const { Cell::new(1) };
}

fn new_decoder(encoding: &'static Encoding, ignore_bom: bool) -> Decoder {
    if ignore_bom { encoding.new_decoder_without_bom_handling() } else { encoding.new_decoder_with_bom_removal() }
}

/// Decodes `bytes` with `decoder` (`last`: the end of the stream); a
/// malformed sequence is a TypeError when `fatal`, U+FFFD otherwise.
fn run_decoder(ctx: &Ctx<'_>, decoder: &mut Decoder, bytes: &[u8], fatal: bool, last: bool) -> Result<String> {
    let too_long = || Exception::throw_range(ctx, "TextDecoder: input too long");
    if fatal {
        let cap = decoder.max_utf8_buffer_length_without_replacement(bytes.len()).ok_or_else(too_long)?;
        let mut out = String::with_capacity(cap);
        match decoder.decode_to_string_without_replacement(bytes, &mut out, last) {
            (DecoderResult::InputEmpty, _) => Ok(out),
            (DecoderResult::Malformed(..), _) => Err(Exception::throw_type(
                ctx,
                &format!("The encoded data was not valid for encoding {}", decoder.encoding().name().to_ascii_lowercase()),
            )),
            (DecoderResult::OutputFull, _) => Err(too_long()),
        }
    } else {
        let cap = decoder.max_utf8_buffer_length(bytes.len()).ok_or_else(too_long)?;
        let mut out = String::with_capacity(cap);
        let _ = decoder.decode_to_string(bytes, &mut out, last);
        Ok(out)
    }
}

/// Adds `base64Encode`, `base64Decode`, `encodingName`, `textDecode` and the
/// streaming `decoderOpen`/`decoderDecode`/`decoderClose` to the `host` object.
pub fn register<'js>(ctx: &Ctx<'js>, host: &Object<'js>) -> Result<()> {
    // The caller has checked that every code unit is at most U+00FF.
    host.set(
        "base64Encode",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, latin1: String| -> Result<String> {
            let bytes = latin1
                .chars()
                .map(|c| u8::try_from(u32::from(c)).map_err(|_| Exception::throw_type(&ctx, "btoa: not a Latin-1 string")))
                .collect::<Result<Vec<u8>>>()?;
            Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
        })?,
    )?;
    // The decoded bytes as a Latin-1 string, or `undefined` if `input` is not valid base64.
    host.set(
        "base64Decode",
        Function::new(ctx.clone(), |input: String| -> Option<String> {
            forgiving_base64_decode(&input).map(|bytes| bytes.into_iter().map(char::from).collect())
        })?,
    )?;
    host.set(
        "encodingName",
        Function::new(ctx.clone(), |label: String| -> Option<String> {
            encoding_for(&label).map(|e| e.name().to_ascii_lowercase())
        })?,
    )?;
    host.set(
        "textDecode",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, label: String, data: TypedArray<'js, u8>, fatal: bool, ignore_bom: bool| -> Result<JsString<'js>> {
                let encoding = encoding_for(&label)
                    .ok_or_else(|| Exception::throw_range(&ctx, &format!("unsupported encoding \"{label}\"")))?;
                let bytes = data.as_bytes().unwrap_or(&[]);
                // Well-formed UTF-8 (what bodies mostly are) becomes the JS
                // string straight from the bytes, less a BOM unless told to
                // keep it: what the decoder gives for it, without its pass
                // and the copy in between (a tenth of the instructions of a
                // 300-byte decode; most of the rest is the call into Rust
                // itself). Anything else goes through the decoder.
                if encoding == encoding_rs::UTF_8 {
                    let text = if ignore_bom { bytes } else { bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes) };
                    if let Ok(text) = std::str::from_utf8(text) {
                        return JsString::from_str(ctx, text);
                    }
                }
                let mut decoder = new_decoder(encoding, ignore_bom);
                let text = run_decoder(&ctx, &mut decoder, bytes, fatal, true)?;
                JsString::from_str(ctx, &text)
            },
        )?,
    )?;
    host.set(
        "decoderOpen",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, label: String, ignore_bom: bool| -> Result<u32> {
            let encoding = encoding_for(&label)
                .ok_or_else(|| Exception::throw_range(&ctx, &format!("unsupported encoding \"{label}\"")))?;
            let handle = NEXT_STREAM.with(|n| {
                let h = n.get();
                n.set(h.wrapping_add(1).max(1));
                h
            });
            STREAMS.with(|s| s.borrow_mut().insert(handle, new_decoder(encoding, ignore_bom)));
            Ok(handle)
        })?,
    )?;
    // Decodes a chunk of the stream `handle`; the decoder is dropped at the
    // end of the stream (`last`) or on an error.
    host.set(
        "decoderDecode",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, handle: u32, data: TypedArray<'js, u8>, fatal: bool, last: bool| -> Result<String> {
                let mut decoder = STREAMS
                    .with(|s| s.borrow_mut().remove(&handle))
                    .ok_or_else(|| Exception::throw_type(&ctx, "TextDecoder: the stream's decoder is gone"))?;
                let out = run_decoder(&ctx, &mut decoder, data.as_bytes().unwrap_or(&[]), fatal, last)?;
                if !last {
                    STREAMS.with(|s| s.borrow_mut().insert(handle, decoder));
                }
                Ok(out)
            },
        )?,
    )?;
    host.set(
        "decoderClose",
        Function::new(ctx.clone(), |handle: u32| {
            STREAMS.with(|s| s.borrow_mut().remove(&handle));
        })?,
    )?;
    Ok(())
}
