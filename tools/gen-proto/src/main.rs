//! gen-proto: writes `src/v3/proto/` from etcd's `.proto` files in `proto/`.
//!
//! ```text
//! gen-proto [--root DIR] OUT_DIR
//! ```
//!
//! `make proto` runs it with `src/v3/proto` as OUT_DIR; `make check-proto` with a
//! temporary directory, compared with the committed one. DIR is the etcdc crate
//! (default: the current directory); the `.proto` files are read from DIR/proto
//! (see proto/README.md), with protox: no protoc is needed.
//!
//! It writes, into OUT_DIR:
//!
//! - one file per protobuf package of [`FILES`] (`etcdserverpb.rs`, `mvccpb.rs`,
//!   ...): the messages and enums, by prost-build, without service code;
//! - `methods.rs`: every rpc of every service of those files as a const
//!   `SERVICE_METHOD: Method<Request, Response>` holding its gRPC path
//!   (`/etcdserverpb.KV/Range`) and how it streams, so that no path is typed by
//!   hand and a call cannot pair a path with the wrong messages; and `ALL`, the
//!   list of them;
//! - `mod.rs`: the module declarations, with the lint allowances the generated
//!   code needs (`#[rustfmt::skip]`: prettyplease formats it, not rustfmt).
//!
//! Every file starts with a comment naming its source and saying not to edit
//! it. Files are rewritten only when their content changes; any other `.rs` file
//! in OUT_DIR is removed, so that OUT_DIR is exactly what this tool writes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use heck::{ToShoutySnakeCase, ToUpperCamelCase};
use prost_build::Module;
use prost_types::FileDescriptorProto;

/// The files generated from, relative to DIR/proto (their imports, gogoproto
/// and google/api options, are read but generate nothing).
const FILES: &[&str] = &[
    "etcd/api/mvccpb/kv.proto",
    "etcd/api/authpb/auth.proto",
    "etcd/api/etcdserverpb/rpc.proto",
    "etcd/server/etcdserver/api/v3lock/v3lockpb/v3lock.proto",
    "etcd/server/etcdserver/api/v3election/v3electionpb/v3election.proto",
];

/// The tag the files came from: the first line of proto/SOURCES, e.g.
/// `etcd-io/etcd v3.5.33 9f4b125...`.
fn etcd_tag(proto: &Path) -> Result<String, String> {
    let sources = proto.join("SOURCES");
    let text = std::fs::read_to_string(&sources)
        .map_err(|e| format!("cannot read {}: {e}", sources.display()))?;
    let line = text.lines().next().unwrap_or_default();
    match line.split_whitespace().collect::<Vec<_>>()[..] {
        ["etcd-io/etcd", tag, _commit] => Ok(tag.to_owned()),
        _ => Err(format!(
            "{}: the first line should be `etcd-io/etcd TAG COMMIT` (see proto/vendor.sh), not {line:?}",
            sources.display()
        )),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-proto: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut root = PathBuf::from(".");
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--root" => root = args.next().ok_or("--root needs a directory")?.into(),
            "-h" | "--help" => {
                println!("usage: gen-proto [--root DIR] OUT_DIR");
                return Ok(());
            }
            _ if out.is_none() && !arg.starts_with('-') => out = Some(PathBuf::from(arg)),
            _ => {
                return Err(format!(
                    "unexpected argument {arg:?} (usage: gen-proto [--root DIR] OUT_DIR)"
                ))
            }
        }
    }
    let out = out.ok_or("usage: gen-proto [--root DIR] OUT_DIR")?;
    let proto = root.join("proto");
    let tag = etcd_tag(&proto)?;

    let fds = protox::Compiler::new([&proto])
        .and_then(|mut c| {
            c.include_source_info(true).include_imports(true);
            c.open_files(FILES)?;
            Ok(c.file_descriptor_set())
        })
        .map_err(|e| format!("compiling {}: {e:?}", proto.display()))?;
    let files: Vec<FileDescriptorProto> = fds
        .file
        .into_iter()
        .filter(|f| FILES.contains(&f.name()))
        .collect();
    if files.len() != FILES.len() {
        return Err("protox did not return every file of FILES".into());
    }

    // package -> source file; one file per package, so one output file per source.
    let mut sources = BTreeMap::new();
    for f in &files {
        if let Some(other) = sources.insert(f.package().to_owned(), f.name().to_owned()) {
            return Err(format!(
                "package {} is in both {other} and {}: gen-proto writes one file per package",
                f.package(),
                f.name()
            ));
        }
    }

    let requests = files
        .iter()
        .map(|f| (Module::from_protobuf_package_name(f.package()), f.clone()))
        .collect();
    let mut config = prost_build::Config::new();
    config.format(true);
    let modules = config
        .generate(requests)
        .map_err(|e| format!("prost-build: {e}"))?;

    let mut written: BTreeMap<String, String> = BTreeMap::new();
    for (module, code) in modules {
        let package = module.parts().collect::<Vec<_>>().join(".");
        let source = sources.get(&package).ok_or_else(|| {
            format!("prost-build wrote a module for an unknown package {package}")
        })?;
        // prost-build's own first line is replaced by ours.
        let code = code
            .strip_prefix("// This file is @generated by prost-build.\n")
            .unwrap_or(&code);
        let file = module.to_file_name_or("_");
        written.insert(
            file,
            format!("{}{code}", header(&format!("proto/{source}"), &tag)),
        );
    }
    for package in sources.keys() {
        let file = format!("{package}.rs");
        // A package with no messages (none here) would get no file from prost-build.
        if !written.contains_key(&file) {
            return Err(format!("prost-build wrote nothing for package {package}"));
        }
    }
    written.insert("methods.rs".into(), methods(&files, &tag)?);
    written.insert("mod.rs".into(), mod_rs(&sources, &tag));

    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for (name, content) in &written {
        let path = out.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(content.as_bytes()) {
            std::fs::write(&path, content)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    // OUT_DIR holds exactly what was written (a package that went away goes too).
    let entries =
        std::fs::read_dir(&out).map_err(|e| format!("cannot list {}: {e}", out.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".rs") && !written.contains_key(&name) {
            std::fs::remove_file(entry.path())
                .map_err(|e| format!("cannot remove {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// The first lines of every generated file.
fn header(source: &str, tag: &str) -> String {
    format!(
        "// @generated by tools/gen-proto from {source} (etcd {tag}): do not edit.\n\
         // Regenerate with `make proto`; `make check-proto` fails when this file is not what it writes.\n"
    )
}

/// What prost-build's code (with the .proto files' names and comments) needs
/// from clippy: `Compare.Result` and friends are enums with variant names
/// that repeat the enum's, and the proto comments hold markdown-like lists.
const PROST_ALLOW: &str = "#[allow(clippy::enum_variant_names, clippy::doc_lazy_continuation)]";

/// `mod.rs`: the modules, with what the generated code needs from the linters.
fn mod_rs(sources: &BTreeMap<String, String>, tag: &str) -> String {
    let mut s = header("proto/", tag);
    s.push_str(
        "\n//! etcd's v3 API messages, generated with prost from etcd's own `.proto` files\n\
         //! (proto/, see proto/README.md), one module per protobuf package, and\n\
         //! [`methods`]: the gRPC path and streaming kind of every rpc of their services.\n\
         \n\
         // Not all of it is used by the client.\n\
         #![allow(dead_code)]\n\n",
    );
    for (package, source) in sources {
        let module = package.replace('.', "_");
        let _ = writeln!(
            s,
            "/// From `proto/{source}`.\n#[rustfmt::skip]\n{PROST_ALLOW}\npub mod {module};"
        );
    }
    s.push_str(
        "/// The gRPC methods of every service above.\n#[rustfmt::skip]\npub mod methods;\n",
    );
    s
}

/// `methods.rs`: one const per rpc, and `ALL`.
fn methods(files: &[FileDescriptorProto], tag: &str) -> Result<String, String> {
    let mut code = String::from(
        "//! The gRPC methods of etcd's services: path, streaming kind, and (as type\n\
         //! parameters) request and response messages.\n\
         use core::marker::PhantomData;\n\
         /// How a method's messages flow.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n\
         pub enum Streaming {\n\
             /// One request, one response.\n\
             Unary,\n\
             /// A stream of requests, one response.\n\
             Client,\n\
             /// One request, a stream of responses.\n\
             Server,\n\
             /// A stream each way.\n\
             Bidi,\n\
         }\n\
         /// One gRPC method of etcd: its path, how it streams, and (as `Req` and\n\
         /// `Resp`) the messages it takes and gives.\n\
         pub struct Method<Req, Resp> {\n\
             /// The `:path` of its HTTP/2 request, e.g. `/etcdserverpb.KV/Range`.\n\
             pub path: &'static str,\n\
             /// How its messages flow.\n\
             pub streaming: Streaming,\n\
             messages: PhantomData<fn(Req) -> Resp>,\n\
         }\n\
         impl<Req, Resp> Method<Req, Resp> {\n\
             const fn new(path: &'static str, streaming: Streaming) -> Self {\n\
                 Method { path, streaming, messages: PhantomData }\n\
             }\n\
         }\n\
         impl<Req, Resp> Clone for Method<Req, Resp> {\n\
             fn clone(&self) -> Self { *self }\n\
         }\n\
         impl<Req, Resp> Copy for Method<Req, Resp> {}\n\
         impl<Req, Resp> core::fmt::Debug for Method<Req, Resp> {\n\
             fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {\n\
                 f.debug_struct(\"Method\").field(\"path\", &self.path).field(\"streaming\", &self.streaming).finish()\n\
             }\n\
         }\n",
    );
    let mut all = String::new();
    let mut count = 0;
    for file in files {
        let package = file.package();
        for (si, service) in file.service.iter().enumerate() {
            for (mi, method) in service.method.iter().enumerate() {
                let path = format!("/{package}.{}/{}", service.name(), method.name());
                let streaming = match (method.client_streaming(), method.server_streaming()) {
                    (false, false) => "Unary",
                    (true, false) => "Client",
                    (false, true) => "Server",
                    (true, true) => "Bidi",
                };
                let name = format!(
                    "{}_{}",
                    service.name().to_shouty_snake_case(),
                    method.name().to_shouty_snake_case()
                );
                let req = rust_type(method.input_type())?;
                let resp = rust_type(method.output_type())?;
                let comment = leading_comment(file, &[6, si as i32, 2, mi as i32]);
                let _ = writeln!(
                    code,
                    "/// `{path}` ({}): `{req}` -> `{resp}`.",
                    streaming.to_lowercase()
                );
                if !comment.is_empty() {
                    code.push_str("///\n");
                    for line in comment.lines() {
                        let _ = writeln!(code, "/// {line}");
                    }
                }
                let _ = writeln!(
                    code,
                    "pub const {name}: Method<super::{req}, super::{resp}> = \
                     Method::new(\"{path}\", Streaming::{streaming});"
                );
                let _ = writeln!(all, "(\"{path}\", Streaming::{streaming}),");
                count += 1;
            }
        }
    }
    let _ = write!(
        code,
        "/// Every method above ({count}), as (path, streaming kind), in the order of the\n\
         /// .proto files.\n\
         pub const ALL: &[(&str, Streaming)] = &[\n{all}];\n"
    );
    let parsed = syn::parse_file(&code).map_err(|e| format!("methods.rs does not parse: {e}"))?;
    Ok(format!(
        "{}{}",
        header("the services of proto/etcd/", tag),
        prettyplease::unparse(&parsed)
    ))
}

/// `.etcdserverpb.RangeRequest` -> `etcdserverpb::RangeRequest` (the name
/// prost-build gives it, relative to the module holding every package).
fn rust_type(proto_type: &str) -> Result<String, String> {
    let name = proto_type
        .strip_prefix('.')
        .ok_or_else(|| format!("type {proto_type} is not fully qualified"))?;
    let (package, message) = name
        .split_once('.')
        .ok_or_else(|| format!("type {proto_type} has no package"))?;
    if message.contains('.') {
        return Err(format!(
            "nested message {proto_type} as an rpc type: not supported"
        ));
    }
    Ok(format!(
        "{}::{}",
        package.replace('.', "_"),
        message.to_upper_camel_case()
    ))
}

/// The comment before the element at `path` (a SourceCodeInfo path), one space
/// of indentation taken off each line, without trailing blank lines.
fn leading_comment(file: &FileDescriptorProto, path: &[i32]) -> String {
    let Some(info) = &file.source_code_info else {
        return String::new();
    };
    let Some(location) = info.location.iter().find(|l| l.path == path) else {
        return String::new();
    };
    location
        .leading_comments()
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_owned()
}
