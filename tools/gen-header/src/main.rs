//! gen-header: writes `include/etcdc.h` from `src/ffi/` with cbindgen, ordered
//! as a manual.
//!
//! ```text
//! gen-header [--crate DIR] [--macros FILE] OUTPUT
//! ```
//!
//! `make header` runs it with `include/etcdc.h` as OUTPUT; `make check-header`
//! with a temporary file, compared with the committed header. DIR is the etcdc
//! crate (default: the current directory); FILE the text placed after types
//! (default: DIR/tools/gen-header/macros.h). OUTPUT is rewritten only when its
//! content changes.
//!
//! cbindgen (with DIR/cbindgen.toml) writes constants, then types, then
//! functions. This tool cuts that output into items (an item: its doc comment
//! and its declaration, as cbindgen wrote them) and writes them in this order:
//!
//! 1. cbindgen's preface: the `header` text of cbindgen.toml (the
//!    conventions), the include guard, the includes;
//! 2. `typedef struct etcdc_x etcdc_x;` for every opaque handle, so that any
//!    section may use any handle;
//! 3. the types some section uses before their own section comes (C needs an
//!    enum, a struct used by value and a typedef name declared before use),
//!    each with a comment saying why it is there; a struct that a prototype
//!    only points to before its section gets a bare `struct etcdc_x;` instead;
//! 4. one section per module of `src/ffi/`, in the order of [`SECTIONS`]: a
//!    banner, the module's `//!` doc as a C comment, then the module's
//!    constants, types and functions, each group in source order. A handle is
//!    described where it belongs (its doc and `struct etcdc_x;`); the text of
//!    macros.h follows the type it names.
//!
//! An item's module is the file of `src/ffi/` that defines it (`pub const`,
//! `pub struct`, `pub enum`, `pub type`, `pub [unsafe] extern "C" fn`). Every
//! `pub enum` of `src/ffi/` is declared, even one that no function names
//! (cbindgen writes only the types functions reach): such an enum names the
//! values of an `int` parameter or field, which Rust takes as an `int` so
//! that any number a C program passes can be checked. The tool
//! fails, saying what to do, on an item defined in no module or in two, on a
//! module with C items that [`SECTIONS`] does not list, on a macros.h block whose
//! type is not in the header, and on anything of cbindgen's output it cannot
//! classify: nothing is dropped or placed by guess.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The sections of the header, in order: the module (its file under
/// `src/ffi/`, without `.rs`) and the section's title. Every module that
/// declares a C item must be listed (`mod.rs` excepted: it may declare none);
/// a listed module whose file does not exist is skipped.
const SECTIONS: &[(&str, &str)] = &[
    ("client", "Client"),
    ("error", "Errors"),
    ("keys", "Keys"),
    ("node", "Responses"),
    ("watch", "Watches"),
    ("lock", "Lock"),
    ("election", "Election"),
    ("cluster", "Cluster"),
    ("auth", "Auth"),
    ("list", "Lists"),
    ("v3_kv", "v3 Keys"),
    ("v3_txn", "v3 Transactions"),
    ("v3_lease", "v3 Leases"),
    ("v3_keeper", "v3 Lease keeper"),
    ("v3_watch", "v3 Watches"),
    ("v3_lock", "v3 Lock"),
    ("v3_election", "v3 Election"),
    ("v3_auth", "v3 Auth"),
    ("v3_cluster", "v3 Cluster"),
    ("v3_maintenance", "v3 Maintenance"),
];

/// The width banners are padded to.
const BANNER_WIDTH: usize = 80;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-header: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, String>;

const USAGE: &str = "usage: gen-header [--crate DIR] [--macros FILE] OUTPUT";

fn run() -> Result<()> {
    let mut crate_dir = PathBuf::from(".");
    let mut macros = None;
    let mut output = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--crate" => crate_dir = args.next().ok_or(USAGE)?.into(),
            "--macros" => macros = Some(PathBuf::from(args.next().ok_or(USAGE)?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ if a.starts_with('-') || output.is_some() => return Err(USAGE.into()),
            _ => output = Some(PathBuf::from(a)),
        }
    }
    let output = output.ok_or(USAGE)?;
    let macros = macros.unwrap_or_else(|| crate_dir.join("tools/gen-header/macros.h"));

    let modules = scan_modules(&crate_dir.join("src/ffi"))?;
    let generated = cbindgen_output(&crate_dir, &modules.enums)?;
    let after = parse_macros(&macros)?;
    let (text, summary) = arrange(&generated, &modules, &after)?;

    if std::fs::read_to_string(&output).ok().as_deref() == Some(text.as_str()) {
        eprintln!("gen-header: {} unchanged ({summary})", output.display());
    } else {
        std::fs::write(&output, &text)
            .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
        eprintln!("gen-header: wrote {} ({summary})", output.display());
    }
    Ok(())
}

/// What cbindgen writes for the crate, and how many items it wrote.
struct Generated {
    text: String,
    items: usize,
    include_guard: String,
}

/// cbindgen's output for the crate. `enums` are written even if no function
/// or struct names them (cbindgen writes only the types the functions
/// reach): a C enum may name the values of an `int` parameter, which Rust
/// takes as an `int` so that any number C passes can be checked.
fn cbindgen_output(crate_dir: &Path, enums: &BTreeSet<String>) -> Result<Generated> {
    let config_path = crate_dir.join("cbindgen.toml");
    let mut config = cbindgen::Config::from_file(&config_path)
        .map_err(|e| format!("{}: {e}", config_path.display()))?;
    for name in enums {
        if !config.export.include.contains(name) {
            config.export.include.push(name.clone());
        }
    }
    if config.after_includes.is_some() {
        return Err(format!(
            "{}: after_includes is not placed by this tool: put text that follows a type in \
             tools/gen-header/macros.h",
            config_path.display()
        ));
    }
    let include_guard = config
        .include_guard
        .clone()
        .ok_or_else(|| format!("{}: no include_guard", config_path.display()))?;
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .map_err(|e| format!("cbindgen: {e}"))?;
    if !bindings.globals.is_empty() {
        return Err("cbindgen wrote global variables (a `pub static`): not supported".into());
    }
    let mut out = Vec::new();
    bindings.write(&mut out);
    let text = String::from_utf8(out).map_err(|_| "cbindgen wrote invalid UTF-8")?;
    let items = bindings.constants.len() + bindings.items.len() + bindings.functions.len();
    Ok(Generated {
        text,
        items,
        include_guard,
    })
}

// ---------------------------------------------------------------- items

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Const,
    /// An opaque handle: `typedef struct etcdc_x etcdc_x;`.
    Opaque,
    Enum,
    Struct,
    /// Any other typedef (a function pointer type...).
    Typedef,
    Function,
}

impl Kind {
    /// The order of the groups in a section: constants, types, functions.
    fn group(self) -> u8 {
        match self {
            Kind::Const => 0,
            Kind::Opaque | Kind::Enum | Kind::Struct | Kind::Typedef => 1,
            Kind::Function => 2,
        }
    }
    fn is_type(self) -> bool {
        self.group() == 1
    }
}

struct Item {
    name: String,
    kind: Kind,
    /// The item as cbindgen wrote it: doc comment and declaration.
    text: String,
    /// The declaration's tokens (comments removed).
    tokens: Vec<String>,
}

/// The pieces of cbindgen's output.
struct Parsed {
    /// Up to and with the includes.
    preface: String,
    items: Vec<Item>,
    /// The `extern "C" {` and closing guards, as cbindgen wrote them.
    open_c: String,
    close_c: String,
    /// `#endif` of the include guard.
    trailer: String,
}

const DEFAULT_OPEN_C: &str = "#ifdef __cplusplus\nextern \"C\" {\n#endif // __cplusplus";
const DEFAULT_CLOSE_C: &str = "#ifdef __cplusplus\n}  // extern \"C\"\n#endif  // __cplusplus";

/// Cuts cbindgen's output into the preface, items (runs of non-blank lines)
/// and the trailer.
fn parse_output(g: &Generated) -> Result<Parsed> {
    let mut chunks: Vec<String> = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for line in g.text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                chunks.push(cur.join("\n"));
                cur.clear();
            }
        } else {
            cur.push(line);
        }
    }
    if !cur.is_empty() {
        chunks.push(cur.join("\n"));
    }

    let includes = chunks
        .iter()
        .position(|c| c.lines().all(|l| l.starts_with("#include ")))
        .ok_or("cbindgen's output has no includes (sys_includes in cbindgen.toml)")?;
    let preface = chunks[..=includes].join("\n\n");
    let last = chunks.last().cloned().unwrap_or_default();
    if !(last.starts_with("#endif") && last.contains(&g.include_guard)) {
        return Err(format!(
            "cbindgen's output does not end with the include guard: {last}"
        ));
    }
    let trailer = last;

    let mut parsed = Parsed {
        preface,
        items: Vec::new(),
        open_c: DEFAULT_OPEN_C.into(),
        close_c: DEFAULT_CLOSE_C.into(),
        trailer,
    };
    for chunk in &chunks[includes + 1..chunks.len() - 1] {
        if chunk.contains("extern \"C\"")
            && chunk
                .lines()
                .all(|l| l.starts_with('#') || l.contains("extern \"C\""))
        {
            if chunk.contains("extern \"C\" {") {
                parsed.open_c = chunk.clone();
            } else {
                parsed.close_c = chunk.clone();
            }
            continue;
        }
        parsed.items.push(classify(chunk)?);
    }
    if parsed.items.len() != g.items {
        return Err(format!(
            "cbindgen wrote {} items but its output cuts into {} at blank lines: an item with \
             a blank line in it? (this tool needs one item per run of non-blank lines)",
            g.items,
            parsed.items.len()
        ));
    }
    Ok(parsed)
}

fn classify(chunk: &str) -> Result<Item> {
    let tokens = tokenize(&strip_comments(chunk));
    let t: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let unknown = || format!("cannot tell what this item of cbindgen's output is:\n{chunk}");
    let paren = t.iter().position(|x| *x == "(");
    let brace = t.iter().position(|x| *x == "{");
    let function = !matches!(t.first(), Some(&"typedef" | &"#"))
        && paren.is_some_and(|p| brace.is_none_or(|b| p < b));
    let (kind, name) = match t.as_slice() {
        _ if function => {
            // `R name(...);`: the name is the token before the first `(`.
            let name = paren
                .and_then(|p| p.checked_sub(1))
                .map(|i| t[i])
                .ok_or_else(unknown)?;
            (Kind::Function, name)
        }
        ["#", "define", name, ..] => (Kind::Const, *name),
        ["typedef", "struct", a, b, ";"] if a == b => (Kind::Opaque, *a),
        ["typedef", "struct" | "union", name, "{", ..] | ["struct" | "union", name, "{", ..] => {
            (Kind::Struct, *name)
        }
        ["typedef", "enum", name, ..] | ["enum", name, ..] => (Kind::Enum, *name),
        ["typedef", ..] => {
            // `typedef R (*name)(...);` or `typedef T name;`
            let name = t
                .windows(3)
                .find(|w| w[0] == "(" && w[1] == "*")
                .map(|w| w[2])
                .or_else(|| t.len().checked_sub(2).map(|i| t[i]))
                .ok_or_else(unknown)?;
            (Kind::Typedef, name)
        }
        _ => return Err(unknown()),
    };
    if !is_ident(name) {
        return Err(unknown());
    }
    Ok(Item {
        name: name.to_string(),
        kind,
        text: chunk.to_string(),
        tokens,
    })
}

fn is_ident(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// C text without its comments (each replaced by a space).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.is_none_or(|l| b < l) => {
                out.push_str(&rest[..b]);
                out.push(' ');
                rest = rest[b + 2..]
                    .find("*/")
                    .map_or("", |e| &rest[b + 2 + e + 2..]);
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                out.push(' ');
                rest = rest[l..].find('\n').map_or("", |e| &rest[l + e..]);
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// Identifiers and numbers as one token each, every other character apart.
fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !(d.is_ascii_alphanumeric() || d == '_') {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            tokens.push(text[i..end].to_string());
        } else {
            tokens.push(c.to_string());
        }
    }
    tokens
}

// ------------------------------------------------------------- modules

/// The modules of `src/ffi/`: where each name is defined, and their docs.
struct Modules {
    /// Name -> every (module, line) defining it.
    defs: HashMap<String, Vec<(String, usize)>>,
    /// Module -> its `//!` doc, one string per line.
    docs: HashMap<String, Vec<String>>,
    /// The `pub enum`s (not `pub(crate)`), all of which the header declares.
    enums: BTreeSet<String>,
}

fn scan_modules(dir: &Path) -> Result<Modules> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    let mut m = Modules {
        defs: HashMap::new(),
        docs: HashMap::new(),
        enums: BTreeSet::new(),
    };
    for file in files {
        let module = file.file_stem().unwrap().to_string_lossy().into_owned();
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let doc = text
            .lines()
            .map_while(|l| l.strip_prefix("//!"))
            .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_string())
            .collect();
        m.docs.insert(module.clone(), doc);
        for (n, line) in text.lines().enumerate() {
            if let Some(name) = definition(line) {
                if is_enum(line) {
                    m.enums.insert(name.to_string());
                }
                m.defs
                    .entry(name.to_string())
                    .or_default()
                    .push((module.clone(), n + 1));
            }
        }
    }
    Ok(m)
}

/// The name a line of Rust defines, if it is a `pub` const, static, struct,
/// enum, union, type alias or `extern "C"` function.
fn definition(line: &str) -> Option<&str> {
    let mut s = line.trim_start().strip_prefix("pub")?;
    if s.starts_with('(') {
        s = &s[s.find(')')? + 1..];
    }
    if !s.starts_with(char::is_whitespace) {
        return None;
    }
    s = s.trim_start();
    let rest = ["const ", "static ", "struct ", "enum ", "union ", "type "]
        .iter()
        .find_map(|kw| s.strip_prefix(kw))
        .or_else(|| {
            let s = s.strip_prefix("unsafe ").map_or(s, str::trim_start);
            let s = s.strip_prefix("extern ")?.trim_start();
            let s = s
                .strip_prefix("\"C\"")
                .or_else(|| s.strip_prefix("\"C-unwind\""))?;
            s.trim_start().strip_prefix("fn ")
        })?
        .trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// Whether a line defines a `pub enum` (not a `pub(crate)` one: the C API's
/// enums are `pub`).
fn is_enum(line: &str) -> bool {
    line.trim_start()
        .strip_prefix("pub ")
        .is_some_and(|s| s.trim_start().starts_with("enum "))
}

// -------------------------------------------------------------- macros

/// macros.h: type name -> the text placed right after it.
fn parse_macros(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut blocks: Vec<(String, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.trim_end().strip_prefix("// after ") {
            let name = name.trim();
            if !is_ident(name) {
                return Err(format!("{}: `{line}`: not a type name", path.display()));
            }
            if blocks.iter().any(|(n, _)| n == name) {
                return Err(format!("{}: two blocks after {name}", path.display()));
            }
            blocks.push((name.to_string(), Vec::new()));
        } else if let Some((_, lines)) = blocks.last_mut() {
            lines.push(line);
        }
    }
    let mut out = Vec::new();
    for (name, lines) in blocks {
        let body = lines.join("\n").trim_matches('\n').trim_end().to_string();
        if body.is_empty() {
            return Err(format!(
                "{}: the block after {name} is empty",
                path.display()
            ));
        }
        out.push((name, body));
    }
    Ok(out)
}

// ------------------------------------------------------------- arrange

/// What an item needs declared before it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Need {
    /// The struct tag (a pointer in a prototype: `struct etcdc_x *`).
    Tag,
    /// The whole type (used by value; any enum; a typedef name).
    Full,
}

/// The types an item uses, with what each use needs.
fn needs(item: &Item, kinds: &HashMap<&str, Kind>) -> Vec<(String, Need)> {
    let mut out = Vec::new();
    if item.kind == Kind::Const {
        return out;
    }
    let t = &item.tokens;
    let mut i = 0;
    while i < t.len() {
        let tok = t[i].as_str();
        if matches!(tok, "struct" | "enum" | "union") {
            if let Some(name) = t.get(i + 1).filter(|n| kinds.contains_key(n.as_str())) {
                if *name != item.name {
                    let mut j = i + 2;
                    while t.get(j).is_some_and(|x| x == "const") {
                        j += 1;
                    }
                    let pointer = t.get(j).is_some_and(|x| x == "*");
                    let need = if tok == "enum" || !pointer {
                        Need::Full
                    } else {
                        Need::Tag
                    };
                    out.push((name.clone(), need));
                }
            }
            i += 2;
            continue;
        }
        if kinds.contains_key(tok) && tok != item.name {
            out.push((tok.to_string(), Need::Full));
        }
        i += 1;
    }
    out
}

struct Section {
    module: String,
    title: String,
    /// Indexes into the items, in the order they are written.
    items: Vec<usize>,
}

fn arrange(
    g: &Generated,
    modules: &Modules,
    after: &[(String, String)],
) -> Result<(String, String)> {
    let parsed = parse_output(g)?;
    let items = &parsed.items;

    // Each item's module and line.
    let mut errors = Vec::new();
    let mut place: Vec<(String, usize)> = Vec::new();
    let mut seen = HashSet::new();
    for item in items {
        if !seen.insert(item.name.as_str()) {
            errors.push(format!("cbindgen wrote {} twice", item.name));
        }
        match modules.defs.get(&item.name).map(Vec::as_slice) {
            Some([one]) => place.push(one.clone()),
            None | Some([]) => {
                errors.push(format!(
                    "{} is in the header but defined in no file of src/ffi/*.rs (a `pub` item \
                     of another module? exclude it in cbindgen.toml, or define the C name in \
                     src/ffi)",
                    item.name
                ));
                place.push((String::new(), 0));
            }
            Some(many) => {
                let at: Vec<String> = many
                    .iter()
                    .map(|(m, l)| format!("src/ffi/{m}.rs:{l}"))
                    .collect();
                errors.push(format!(
                    "{} is defined in more than one place: {} (rename one)",
                    item.name,
                    at.join(", ")
                ));
                place.push((String::new(), 0));
            }
        }
    }
    let listed: HashSet<&str> = SECTIONS.iter().map(|(m, _)| *m).collect();
    let mut unplaced: BTreeSet<&str> = BTreeSet::new();
    for ((module, _), item) in place.iter().zip(items) {
        if !module.is_empty() && !listed.contains(module.as_str()) {
            unplaced.insert(module);
            if module == "mod" {
                errors.push(format!(
                    "{} is defined in src/ffi/mod.rs, which has no section of the header: \
                     define it in the module it belongs to",
                    item.name
                ));
            }
        }
    }
    for module in unplaced.iter().filter(|m| **m != "mod") {
        errors.push(format!(
            "src/ffi/{module}.rs declares C items but has no section in the header: add \
             (\"{module}\", \"<Title>\") to SECTIONS in tools/gen-header/src/main.rs, where \
             it belongs in the manual"
        ));
    }
    let index: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.name.as_str(), i))
        .collect();
    let mut after_of: HashMap<usize, &str> = HashMap::new();
    for (name, text) in after {
        match index.get(name.as_str()) {
            Some(&i) if items[i].kind.is_type() => {
                after_of.insert(i, text);
            }
            _ => errors.push(format!(
                "tools/gen-header/macros.h has a block after {name}, but the header declares \
                 no type {name} (renamed? removed?)"
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\ngen-header: "));
    }

    // Sections, each: constants, types, functions, in source order.
    let mut sections = Vec::new();
    for (module, title) in SECTIONS {
        let mut members: Vec<usize> = (0..items.len())
            .filter(|&i| place[i].0 == *module)
            .collect();
        if members.is_empty() {
            continue;
        }
        members.sort_by_key(|&i| (items[i].kind.group(), place[i].1));
        sections.push(Section {
            module: module.to_string(),
            title: title.to_string(),
            items: members,
        });
    }
    let section_of: HashMap<usize, usize> = sections
        .iter()
        .enumerate()
        .flat_map(|(s, sec)| sec.items.iter().map(move |&i| (i, s)))
        .collect();

    // What must come first: handles (all, at the top), struct tags and types
    // used before their section (found by walking the manual order).
    let kinds: HashMap<&str, Kind> = items
        .iter()
        .filter(|it| it.kind.is_type())
        .map(|it| (it.name.as_str(), it.kind))
        .collect();
    let item_needs: Vec<Vec<(String, Need)>> = items.iter().map(|it| needs(it, &kinds)).collect();
    let handles: Vec<usize> = sections
        .iter()
        .flat_map(|s| s.items.iter().copied())
        .filter(|&i| items[i].kind == Kind::Opaque)
        .collect();
    let mut tags: Vec<usize> = Vec::new();
    let mut hoisted: Vec<usize> = Vec::new();
    let mut why: HashMap<usize, String> = HashMap::new();
    let mut rounds = 0;
    'plan: loop {
        rounds += 1;
        if rounds > 4 * items.len() + 4 {
            let names: Vec<&str> = hoisted.iter().map(|&i| items[i].name.as_str()).collect();
            return Err(format!(
                "cannot order the types {}: they use each other by value",
                names.join(", ")
            ));
        }
        let mut full: HashSet<&str> = handles.iter().map(|&i| items[i].name.as_str()).collect();
        let mut tagged: HashSet<&str> = tags.iter().map(|&i| items[i].name.as_str()).collect();
        let order: Vec<usize> = hoisted
            .iter()
            .copied()
            .chain(
                sections
                    .iter()
                    .flat_map(|s| s.items.iter().copied())
                    .filter(|i| !hoisted.contains(i)),
            )
            .collect();
        for i in order {
            for (name, need) in &item_needs[i] {
                let t = index[name.as_str()];
                if full.contains(name.as_str())
                    || (*need == Need::Tag && tagged.contains(name.as_str()))
                {
                    continue;
                }
                if *need == Need::Tag && items[t].kind == Kind::Struct {
                    tags.push(t);
                    continue 'plan;
                }
                let by = if let Some(p) = hoisted.iter().position(|&h| h == i) {
                    why.insert(t, format!("{}, declared here too, uses it", items[i].name));
                    p
                } else {
                    let title = &sections[section_of[&i]].title;
                    why.insert(t, format!("section {title} uses it first"));
                    hoisted.len()
                };
                if let Some(p) = hoisted.iter().position(|&h| h == t) {
                    hoisted.remove(p);
                    hoisted.insert(by.min(p), t);
                } else {
                    hoisted.insert(by, t);
                }
                continue 'plan;
            }
            full.insert(items[i].name.as_str());
            if items[i].kind == Kind::Struct {
                tagged.insert(items[i].name.as_str());
            }
        }
        break;
    }

    // Write.
    let mut out: Vec<String> = vec![parsed.preface.clone()];
    let item_text = |i: usize, out: &mut Vec<String>| {
        let it = &items[i];
        if it.kind == Kind::Opaque {
            // Declared at the top: here, its description and the bare tag.
            let text = it.text.trim_end();
            let decl = text.lines().last().unwrap_or_default();
            out.push(format!(
                "{}struct {};",
                &text[..text.len() - decl.len()],
                it.name
            ));
        } else {
            out.push(it.text.clone());
        }
        if let Some(text) = after_of.get(&i) {
            out.push(text.to_string());
        }
    };
    let mut fwd = String::from(
        "/*\n * The handles: opaque structs, only ever used through pointers. Declared here\n \
         * so that any section may use any of them; each is described in its section.\n */",
    );
    for &i in &handles {
        fwd.push_str(&format!("\ntypedef struct {0} {0};", items[i].name));
    }
    out.push(fwd);
    if !tags.is_empty() {
        let mut fwd = String::from(
            "/* Structs that a function uses through a pointer before their section. */",
        );
        for &i in &tags {
            fwd.push_str(&format!("\nstruct {};", items[i].name));
        }
        out.push(fwd);
    }
    for &i in &hoisted {
        let note = note(&format!(
            "{} belongs to section {}; declared here because {}.",
            items[i].name, sections[section_of[&i]].title, why[&i]
        ));
        let first = out.len();
        item_text(i, &mut out);
        out[first] = format!("{note}\n{}", out[first]);
    }
    for s in &sections {
        out.push(banner(&s.title));
        if let Some(doc) = modules.docs.get(&s.module).filter(|d| !d.is_empty()) {
            out.push(c_comment(doc));
        }
        let mut open = false;
        for &i in s.items.iter().filter(|i| !hoisted.contains(i)) {
            if items[i].kind == Kind::Function && !open {
                out.push(parsed.open_c.clone());
                open = true;
            }
            item_text(i, &mut out);
        }
        if open {
            out.push(parsed.close_c.clone());
        }
    }
    out.push(parsed.trailer.clone());
    let text = out.join("\n\n") + "\n";

    // Nothing lost, nothing doubled: each item once (a handle: its typedef).
    for it in items {
        let n = if it.kind == Kind::Opaque {
            let decl = format!("typedef struct {0} {0};", it.name);
            text.lines().filter(|l| *l == decl).count()
        } else {
            text.matches(it.text.as_str()).count()
        };
        if n != 1 {
            return Err(format!("internal error: {} written {n} times", it.name));
        }
    }
    let mut summary = format!("{} items in {} sections", items.len(), sections.len());
    if !hoisted.is_empty() {
        let names: Vec<&str> = hoisted.iter().map(|&i| items[i].name.as_str()).collect();
        summary.push_str(&format!("; declared ahead: {}", names.join(", ")));
    }
    Ok((text, summary))
}

/// A C comment: one line if it fits in 100 columns, else wrapped at 80.
fn note(text: &str) -> String {
    if text.len() + 6 <= 100 {
        return format!("/* {text} */");
    }
    let mut out = String::from("/*");
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > 76 {
            out.push_str(&format!("\n * {line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&format!("\n * {line}\n */"));
    out
}

fn banner(title: &str) -> String {
    let head = format!("/* ==== {title} ");
    let fill = BANNER_WIDTH.saturating_sub(head.len() + 3).max(4);
    format!("{head}{} */", "=".repeat(fill))
}

/// A module's `//!` doc as a C comment, its rustdoc links as plain text.
fn c_comment(doc: &[String]) -> String {
    let mut lines: Vec<&String> = doc.iter().collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut out = String::from("/*");
    for line in lines {
        let line = unlink(line).replace("*/", "*\\/");
        if line.is_empty() {
            out.push_str("\n *");
        } else {
            out.push_str("\n * ");
            out.push_str(&line);
        }
    }
    out.push_str("\n */");
    out
}

/// "[`x`](path)" and "[`x`]" -> "`x`"; "[text](url)" -> "text".
fn unlink(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = &after[..close];
        let tail = &after[close + 1..];
        if let Some(target) = tail.strip_prefix('(') {
            if let Some(end) = target.find(')') {
                out.push_str(inner);
                rest = &target[end + 1..];
                continue;
            }
        }
        if inner.len() >= 2 && inner.starts_with('`') && inner.ends_with('`') {
            out.push_str(inner);
        } else {
            out.push('[');
            out.push_str(inner);
            out.push(']');
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}
