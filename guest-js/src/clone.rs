//! The structured clone of plain data in Rust: the same bytes as the JS
//! writer and reader of `js/20-clone.js` (format version 1), for the values
//! that RPC arguments and stored kv values mostly are: primitives, strings,
//! and arrays and plain objects of them, with shared references and cycles.
//!
//! Anything else (a Map, a Date, a typed array, a class instance, an accessor
//! property, a hole in an array, a BigInt, a symbol, nesting deeper than
//! [`MAX_DEPTH`]...) makes the Rust half give up and the JS half do the whole
//! value, so both produce one format and JS keeps every rule and error
//! message. Giving up is safe at any point: the writer only reads data
//! properties (it runs no code of the user's), and the reader only makes new
//! values.
//!
//! In JS on this engine each value costs tens of thousands of Wasm
//! instructions (a call or a property access costs about a thousand); here it
//! costs a few hundred.

use std::collections::HashMap;
use std::ffi::c_void;

use javy_plugin_api::javy::quickjs::qjs;
use javy_plugin_api::javy::quickjs::qjs::{JSContext, JSValue};

const VERSION: u8 = 1;
const UNDEF: u8 = 0;
const NULL: u8 = 1;
const FALSE: u8 = 2;
const TRUE: u8 = 3;
const INT: u8 = 4;
const DOUBLE: u8 = 5;
const STRING: u8 = 6;
const ARRAY: u8 = 10;
const OBJECT: u8 = 11;
const REF: u8 = 16;
const HOLE: u8 = 18;

/// QuickJS's class ids of ordinary objects and arrays (quickjs.c).
const CLASS_OBJECT: u32 = 1;
const CLASS_ARRAY: u32 = 2;

/// Deeper values are left to JS (whose recursion limit throws a RangeError
/// the code can catch, where the Rust stack would trap).
const MAX_DEPTH: u32 = 128;

/// The value is not plain data: JS does it.
struct GiveUp;

type Step = Result<(), GiveUp>;

/// The bytes of `value` (version byte first), or `None` when it is not plain
/// data. `object_proto` is `Object.prototype`: objects must inherit from it
/// directly (or from nothing) to count as plain.
pub fn write(ctx: *mut JSContext, value: JSValue, object_proto: JSValue) -> Option<Vec<u8>> {
    // SAFETY: `object_proto` is a live object value of this context (the
    // caller holds it); only its address is kept, for comparisons.
    let proto = unsafe { qjs::JS_VALUE_GET_PTR(object_proto) };
    let mut w = Writer { ctx, out: Vec::with_capacity(32), seen: HashMap::new(), proto, depth: 0 };
    w.out.push(VERSION);
    let done = w.value(value);
    clear_exception(ctx);
    done.ok().map(|()| w.out)
}

struct Writer {
    ctx: *mut JSContext,
    out: Vec<u8>,
    /// Objects written so far (by address) -> their number, for REF.
    seen: HashMap<usize, u64>,
    proto: *mut c_void,
    depth: u32,
}

impl Writer {
    fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.out.push((n & 0x7f) as u8 | 0x80);
            n >>= 7;
        }
        self.out.push(n as u8);
    }

    /// A string's UTF-16 code units exactly: one byte each when all fit, else two.
    fn str(&mut self, s: JSValue) -> Step {
        let mut len: qjs::size_t = 0;
        // SAFETY: `s` is a live string value; the returned buffer holds `len`
        // units until JS_FreeCStringUTF16, which is called below.
        let units = unsafe { qjs::JS_ToCStringLenUTF16(self.ctx, &mut len, s) };
        if units.is_null() {
            return Err(GiveUp);
        }
        let len = len as usize;
        // SAFETY: see above.
        let slice = unsafe { std::slice::from_raw_parts(units, len) };
        let wide = slice.iter().any(|&u| u > 0xff);
        self.varint(len as u64 * 2 + wide as u64);
        if wide {
            self.out.reserve(len * 2);
            for u in slice {
                self.out.extend_from_slice(&u.to_le_bytes());
            }
        } else {
            self.out.extend(slice.iter().map(|&u| u as u8));
        }
        // SAFETY: from JS_ToCStringLenUTF16 above.
        unsafe { qjs::JS_FreeCStringUTF16(self.ctx, units) };
        Ok(())
    }

    fn value(&mut self, v: JSValue) -> Step {
        // SAFETY: reading the tag and payload of a value the caller holds.
        let tag = unsafe { qjs::JS_VALUE_GET_NORM_TAG(v) };
        match tag {
            qjs::JS_TAG_UNDEFINED => self.out.push(UNDEF),
            qjs::JS_TAG_NULL => self.out.push(NULL),
            // SAFETY: as above.
            qjs::JS_TAG_BOOL => self.out.push(if unsafe { qjs::JS_VALUE_GET_BOOL(v) } { TRUE } else { FALSE }),
            qjs::JS_TAG_INT => {
                self.out.push(INT);
                // SAFETY: as above.
                self.out.extend_from_slice(&unsafe { qjs::JS_VALUE_GET_INT(v) }.to_le_bytes());
            }
            qjs::JS_TAG_FLOAT64 => {
                // SAFETY: as above.
                let d = unsafe { qjs::JS_VALUE_GET_FLOAT64(v) };
                // As the JS writer: `(v | 0) === v && !Object.is(v, -0)`.
                if (d as i32) as f64 == d && !(d == 0.0 && d.is_sign_negative()) {
                    self.out.push(INT);
                    self.out.extend_from_slice(&(d as i32).to_le_bytes());
                } else {
                    self.out.push(DOUBLE);
                    self.out.extend_from_slice(&d.to_le_bytes());
                }
            }
            qjs::JS_TAG_STRING | qjs::JS_TAG_STRING_ROPE => {
                self.out.push(STRING);
                self.str(v)?;
            }
            qjs::JS_TAG_OBJECT => self.object(v)?,
            _ => return Err(GiveUp),
        }
        Ok(())
    }

    fn object(&mut self, v: JSValue) -> Step {
        // SAFETY: `v` is a live object value.
        let addr = unsafe { qjs::JS_VALUE_GET_PTR(v) } as usize;
        if let Some(&n) = self.seen.get(&addr) {
            self.out.push(REF);
            self.varint(n);
            return Ok(());
        }
        // SAFETY: JS_GetClassID only reads the object's header.
        let class = unsafe { qjs::JS_GetClassID(v) };
        if class != CLASS_ARRAY && class != CLASS_OBJECT {
            return Err(GiveUp);
        }
        if class == CLASS_OBJECT && !self.plain_prototype(v) {
            return Err(GiveUp);
        }
        if self.depth >= MAX_DEPTH {
            return Err(GiveUp);
        }
        let n = self.seen.len() as u64;
        self.seen.insert(addr, n);
        self.depth += 1;
        let done = if class == CLASS_ARRAY { self.array(v) } else { self.plain(v) };
        self.depth -= 1;
        done
    }

    fn plain_prototype(&self, v: JSValue) -> bool {
        // SAFETY: `v` is an ordinary object (not a proxy: no code runs);
        // the returned reference is freed here.
        unsafe {
            let proto = qjs::JS_GetPrototype(self.ctx, v);
            let plain = qjs::JS_IsNull(proto) || (qjs::JS_IsObject(proto) && qjs::JS_VALUE_GET_PTR(proto) == self.proto);
            qjs::JS_FreeValue(self.ctx, proto);
            plain
        }
    }

    /// The own data property `atom` of `obj` (None: absent or an accessor).
    fn data_property(&mut self, obj: JSValue, atom: qjs::JSAtom) -> Result<Option<JSValue>, GiveUp> {
        let mut desc = qjs::JSPropertyDescriptor { flags: 0, value: qjs::JS_UNDEFINED, getter: qjs::JS_UNDEFINED, setter: qjs::JS_UNDEFINED };
        // SAFETY: an ordinary object and a valid atom; JS_GetOwnProperty runs
        // no code for them and gives references in `desc` that are freed here
        // or handed to the caller (the value).
        unsafe {
            match qjs::JS_GetOwnProperty(self.ctx, &mut desc, obj, atom) {
                1 => {}
                0 => return Ok(None),
                _ => return Err(GiveUp),
            }
            if desc.flags & qjs::JS_PROP_GETSET as i32 != 0 {
                qjs::JS_FreeValue(self.ctx, desc.getter);
                qjs::JS_FreeValue(self.ctx, desc.setter);
                qjs::JS_FreeValue(self.ctx, desc.value);
                return Err(GiveUp);
            }
            qjs::JS_FreeValue(self.ctx, desc.getter);
            qjs::JS_FreeValue(self.ctx, desc.setter);
        }
        Ok(Some(desc.value))
    }

    fn array(&mut self, v: JSValue) -> Step {
        let mut len: i64 = 0;
        // SAFETY: `v` is an array: its length is a data property.
        if unsafe { qjs::JS_GetLength(self.ctx, v, &mut len) } < 0 || len < 0 || len > u32::MAX as i64 {
            return Err(GiveUp);
        }
        self.out.push(ARRAY);
        self.varint(len as u64);
        for i in 0..len as u32 {
            // SAFETY: integer atoms need no allocation; freed below all the same.
            let atom = unsafe { qjs::JS_NewAtomUInt32(self.ctx, i) };
            let element = self.data_property(v, atom);
            // SAFETY: from JS_NewAtomUInt32 above.
            unsafe { qjs::JS_FreeAtom(self.ctx, atom) };
            // A hole: JS looks up the prototype chain (`i in v`), so it decides.
            let Some(element) = element? else { return Err(GiveUp) };
            let done = self.value(element);
            // SAFETY: the reference from data_property.
            unsafe { qjs::JS_FreeValue(self.ctx, element) };
            done?;
        }
        Ok(())
    }

    fn plain(&mut self, v: JSValue) -> Step {
        let mut tab: *mut qjs::JSPropertyEnum = std::ptr::null_mut();
        let mut len: u32 = 0;
        let flags = (qjs::JS_GPN_STRING_MASK | qjs::JS_GPN_ENUM_ONLY) as i32;
        // SAFETY: an ordinary object: listing its own enumerable string keys
        // (in Object.keys order) runs no code; the table is freed below.
        if unsafe { qjs::JS_GetOwnPropertyNames(self.ctx, &mut tab, &mut len, v, flags) } < 0 {
            return Err(GiveUp);
        }
        // SAFETY: `len` entries, valid until JS_FreePropertyEnum.
        let entries = unsafe { std::slice::from_raw_parts(tab, len as usize) };
        let done = (|| -> Step {
            self.out.push(OBJECT);
            self.varint(len as u64);
            for e in entries {
                let Some(value) = self.data_property(v, e.atom)? else { return Err(GiveUp) };
                // SAFETY: a valid atom; the string is freed below.
                let key = unsafe { qjs::JS_AtomToString(self.ctx, e.atom) };
                let mut done = if unsafe { qjs::JS_IsString(key) } { self.str(key) } else { Err(GiveUp) };
                if done.is_ok() {
                    done = self.value(value);
                }
                // SAFETY: the references taken above.
                unsafe {
                    qjs::JS_FreeValue(self.ctx, key);
                    qjs::JS_FreeValue(self.ctx, value);
                }
                done?;
            }
            Ok(())
        })();
        // SAFETY: from JS_GetOwnPropertyNames above.
        unsafe { qjs::JS_FreePropertyEnum(self.ctx, tab, len) };
        done
    }
}

/// The value `bytes` hold (a new reference), or `None` when they hold
/// something other than plain data, or are not well formed: JS then reads
/// them (and reports what is wrong).
pub fn read(ctx: *mut JSContext, bytes: &[u8]) -> Option<JSValue> {
    if bytes.first() != Some(&VERSION) {
        return None;
    }
    let mut r = Reader { ctx, buf: bytes, pos: 1, objects: Vec::new(), depth: 0 };
    let v = r.value();
    clear_exception(ctx);
    v.ok()
}

struct Reader<'a> {
    ctx: *mut JSContext,
    buf: &'a [u8],
    pos: usize,
    /// The objects read so far, for REF (borrowed: the value being built owns them).
    objects: Vec<JSValue>,
    depth: u32,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, GiveUp> {
        let b = *self.buf.get(self.pos).ok_or(GiveUp)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], GiveUp> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or(GiveUp)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn varint(&mut self) -> Result<u64, GiveUp> {
        let mut n: u64 = 0;
        for shift in (0..63).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(n);
            }
        }
        Err(GiveUp)
    }

    /// A new string value.
    fn str(&mut self) -> Result<JSValue, GiveUp> {
        let h = self.varint()?;
        let n = usize::try_from(h / 2).map_err(|_| GiveUp)?;
        let ctx = self.ctx;
        let s = if h & 1 == 1 {
            let bytes = self.take(n.checked_mul(2).ok_or(GiveUp)?)?;
            let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            // SAFETY: `units` holds `n` code units; QuickJS copies them.
            unsafe { qjs::JS_NewStringUTF16(ctx, units.as_ptr(), units.len() as _) }
        } else {
            let bytes = self.take(n)?;
            if bytes.is_ascii() {
                // SAFETY: ASCII is UTF-8; QuickJS copies it.
                unsafe { qjs::JS_NewStringLen(ctx, bytes.as_ptr().cast(), bytes.len() as _) }
            } else {
                let utf8: String = bytes.iter().map(|&b| char::from(b)).collect();
                // SAFETY: as above.
                unsafe { qjs::JS_NewStringLen(ctx, utf8.as_ptr().cast(), utf8.len() as _) }
            }
        };
        // SAFETY: reading a tag.
        if unsafe { qjs::JS_IsException(s) } { Err(GiveUp) } else { Ok(s) }
    }

    /// A new value (an owned reference).
    fn value(&mut self) -> Result<JSValue, GiveUp> {
        match self.byte()? {
            UNDEF => Ok(qjs::JS_UNDEFINED),
            NULL => Ok(qjs::JS_NULL),
            FALSE => Ok(qjs::JS_FALSE),
            TRUE => Ok(qjs::JS_TRUE),
            INT => {
                let b = self.take(4)?;
                Ok(qjs::JS_MKVAL(qjs::JS_TAG_INT, i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            }
            DOUBLE => {
                let b = self.take(8)?;
                Ok(qjs::JS_NewFloat64(f64::from_le_bytes(b.try_into().map_err(|_| GiveUp)?)))
            }
            STRING => self.str(),
            REF => {
                let i = usize::try_from(self.varint()?).map_err(|_| GiveUp)?;
                let v = *self.objects.get(i).ok_or(GiveUp)?;
                // SAFETY: a live object of the value being built.
                Ok(unsafe { qjs::JS_DupValue(self.ctx, v) })
            }
            tag @ (ARRAY | OBJECT) => {
                if self.depth >= MAX_DEPTH {
                    return Err(GiveUp);
                }
                // SAFETY: new objects of this context; on failure the
                // reference is freed (with what was put in it).
                let obj = unsafe { if tag == ARRAY { qjs::JS_NewArray(self.ctx) } else { qjs::JS_NewObject(self.ctx) } };
                if unsafe { qjs::JS_IsException(obj) } {
                    return Err(GiveUp);
                }
                self.objects.push(obj);
                self.depth += 1;
                let filled = if tag == ARRAY { self.fill_array(obj) } else { self.fill_object(obj) };
                self.depth -= 1;
                match filled {
                    Ok(()) => Ok(obj),
                    Err(e) => {
                        // SAFETY: the reference made above.
                        unsafe { qjs::JS_FreeValue(self.ctx, obj) };
                        Err(e)
                    }
                }
            }
            _ => Err(GiveUp),
        }
    }

    fn fill_array(&mut self, arr: JSValue) -> Result<(), GiveUp> {
        let n = u32::try_from(self.varint()?).map_err(|_| GiveUp)?;
        let mut last_hole = false;
        for i in 0..n {
            if self.buf.get(self.pos) == Some(&HOLE) {
                self.pos += 1;
                last_hole = true;
                continue;
            }
            last_hole = false;
            let v = self.value()?;
            // SAFETY: defines an own data property of a new array; takes `v`.
            if unsafe { qjs::JS_DefinePropertyValueUint32(self.ctx, arr, i, v, qjs::JS_PROP_C_W_E as i32) } < 0 {
                return Err(GiveUp);
            }
        }
        if last_hole {
            // Trailing holes still count in the length (as `new Array(n)`).
            // SAFETY: sets the length of a new array (no code runs).
            if unsafe { qjs::JS_SetPropertyStr(self.ctx, arr, c"length".as_ptr(), qjs::JS_NewFloat64(f64::from(n))) } < 0 {
                return Err(GiveUp);
            }
        }
        Ok(())
    }

    fn fill_object(&mut self, obj: JSValue) -> Result<(), GiveUp> {
        let n = self.varint()?;
        for _ in 0..n {
            let key = self.str()?;
            // SAFETY: a string value; its atom is freed below.
            let atom = unsafe { qjs::JS_ValueToAtom(self.ctx, key) };
            unsafe { qjs::JS_FreeValue(self.ctx, key) };
            if atom == qjs::JS_ATOM_NULL {
                return Err(GiveUp);
            }
            let defined = self.value().and_then(|v| {
                // Own data properties whatever Object.prototype holds
                // ("__proto__" included), as the JS reader defines them.
                // SAFETY: defines an own data property of a new object; takes `v`.
                if unsafe { qjs::JS_DefinePropertyValue(self.ctx, obj, atom, v, qjs::JS_PROP_C_W_E as i32) } < 0 { Err(GiveUp) } else { Ok(()) }
            });
            // SAFETY: from JS_ValueToAtom above.
            unsafe { qjs::JS_FreeAtom(self.ctx, atom) };
            defined?;
        }
        Ok(())
    }
}

/// Drops an exception a failed QuickJS call left (out of memory): JS then
/// does the work, and meets the same condition itself.
fn clear_exception(ctx: *mut JSContext) {
    // SAFETY: the context is live; the exception value taken is freed.
    unsafe {
        if qjs::JS_HasException(ctx) {
            let e = qjs::JS_GetException(ctx);
            qjs::JS_FreeValue(ctx, e);
        }
    }
}
