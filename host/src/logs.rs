//! Logs attributed to objects: every event an object or facet runs is inside
//! a span ([`object_span`], [`facet_span`]) that tags its log lines (guest
//! `console` output, uncaught exceptions, limit hits) with the namespace,
//! object, facet and code id. [`CaptureLayer`] keeps each object's recent
//! lines in a bounded ring buffer, served by the admin listener's `/logs`.

use std::collections::VecDeque;
use std::sync::{LazyLock, Mutex};

use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Lines kept per object.
pub const LINES_PER_OBJECT: usize = 256;
/// Objects whose lines are kept (least recently logging out first).
pub const OBJECTS_KEPT: usize = 1_024;
/// Longest message kept (longer ones are cut).
const MAX_MESSAGE: usize = 8 << 10;

/// The span an object's events run in.
pub fn object_span(namespace: &str, object: &str, code: &str) -> tracing::Span {
    tracing::info_span!(target: "facets::object", "object", namespace = %namespace, object = %object, code = %code)
}

/// The span a facet's events run in (inside its parent's span).
pub fn facet_span(facet: &str, code: &str) -> tracing::Span {
    tracing::info_span!(target: "facets::object", "facet", facet = %facet, code = %code)
}

/// One captured line.
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    /// Milliseconds since the Unix epoch.
    pub ts_ms: u64,
    pub level: String,
    pub namespace: String,
    pub object: String,
    /// `""` for the object itself; `a/b` for facet b of facet a.
    pub facet: String,
    pub code: String,
    /// `console` for guest console output.
    pub source: String,
    pub message: String,
}

type Buffers = lru::LruCache<(String, String), VecDeque<Line>>;

fn buffers() -> &'static Mutex<Buffers> {
    static BUFFERS: LazyLock<Mutex<Buffers>> =
        LazyLock::new(|| Mutex::new(lru::LruCache::new(std::num::NonZeroUsize::new(OBJECTS_KEPT).expect("non-zero"))));
    &BUFFERS
}

/// The recent lines of `object` (in `namespace`, or in any namespace), oldest first.
pub fn recent(namespace: Option<&str>, object: &str) -> Vec<Line> {
    let buffers = buffers().lock().expect("log buffers lock");
    let mut lines: Vec<Line> = buffers
        .iter()
        .filter(|((ns, o), _)| o == object && namespace.is_none_or(|n| n == ns))
        .flat_map(|(_, lines)| lines.iter().cloned())
        .collect();
    lines.sort_by_key(|l| l.ts_ms);
    lines
}

#[derive(Clone, Debug, Default)]
struct Tag {
    namespace: Option<String>,
    object: Option<String>,
    facet: Option<String>,
    code: Option<String>,
}

impl Visit for Tag {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.set(field, format!("{value:?}"));
    }
}

impl Tag {
    fn set(&mut self, field: &Field, value: String) {
        match field.name() {
            "namespace" => self.namespace = Some(value),
            "object" => self.object = Some(value),
            "facet" => self.facet = Some(value),
            "code" => self.code = Some(value),
            _ => {}
        }
    }
}

#[derive(Default)]
struct Message {
    message: String,
    fields: String,
}

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else if field.name() != "object" && !value.is_empty() {
            self.fields.push_str(&format!(" {}={value}", field.name()));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message.push_str(&format!("{value:?}"));
        } else if field.name() != "object" {
            self.fields.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
}

/// Keeps the lines logged inside object spans, per object.
pub struct CaptureLayer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for CaptureLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let name = attrs.metadata().name();
        if name != "object" && name != "facet" {
            return;
        }
        let mut tag = Tag::default();
        attrs.record(&mut tag);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(tag);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else { return };
        let mut tag = Tag::default();
        let mut facets: Vec<String> = Vec::new();
        for span in scope.from_root() {
            let ext = span.extensions();
            let Some(t) = ext.get::<Tag>() else { continue };
            if t.object.is_some() {
                tag.namespace = t.namespace.clone();
                tag.object = t.object.clone();
                facets.clear();
            }
            if let Some(f) = &t.facet {
                facets.push(f.clone());
            }
            if t.code.is_some() {
                tag.code = t.code.clone();
            }
        }
        let (Some(namespace), Some(object)) = (tag.namespace, tag.object) else { return };
        let mut message = Message::default();
        event.record(&mut message);
        let mut text = message.message;
        text.push_str(&message.fields);
        if text.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        let meta = event.metadata();
        let line = Line {
            ts_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            level: meta.level().to_string(),
            namespace: namespace.clone(),
            object: object.clone(),
            facet: facets.join("/"),
            code: tag.code.unwrap_or_default(),
            source: if meta.target() == "facets::console" { "console".into() } else { "host".into() },
            message: text,
        };
        let mut buffers = buffers().lock().expect("log buffers lock");
        let lines = buffers.get_or_insert_mut((namespace, object), VecDeque::new);
        if lines.len() >= LINES_PER_OBJECT {
            lines.pop_front();
        }
        lines.push_back(line);
    }
}
