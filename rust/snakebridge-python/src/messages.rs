//! The message patterns of numpy's and torch's shape, memory and dtype
//! errors: the fallback of [`classifier`](crate::classifier) for exceptions
//! whose type and attributes say nothing.
//!
//! Each pattern is a whole phrase of the library's message (never a lone
//! word such as "OOM"), so an unrelated message is left alone.

use snakebridge_proto::v1::translated_error::{
    DtypeMismatch, Kind, OutOfMemory, Shape, ShapeMismatch,
};

/// The recognised error `message` states, if any.
pub(crate) fn classify(message: &str) -> Option<Kind> {
    shape_mismatch(message)
        .map(Kind::ShapeMismatch)
        .or_else(|| out_of_memory(message).map(Kind::OutOfMemory))
        .or_else(|| dtype_mismatch(message).map(Kind::DtypeMismatch))
}

/// numpy's and torch's shape errors.
fn shape_mismatch(m: &str) -> Option<ShapeMismatch> {
    numpy_broadcast(m)
        .or_else(|| numpy_broadcast_arrays(m))
        .or_else(|| numpy_gufunc(m))
        .or_else(|| numpy_dot(m))
        .or_else(|| numpy_concatenate(m))
        .or_else(|| torch_mm(m))
        .or_else(|| torch_broadcast(m))
}

/// `operands could not be broadcast together with shapes (2,3) (4,) `, also
/// with `remapped shapes [original->remapped]: (3,)  and requested shape (4,)`
/// (`broadcast_to`) and `(2,3)->(2,newaxis,3)` (einsum): the original shapes,
/// then the requested one.
fn numpy_broadcast(m: &str) -> Option<ShapeMismatch> {
    let rest = after(m, "operands could not be broadcast together with ")?;
    let rest =
        after(rest, "remapped shapes [original->remapped]: ").or_else(|| after(rest, "shapes "))?;
    let mut shapes = Vec::new();
    for token in rest.split_whitespace() {
        if token == "and" || token == "requested" || token == "shape" {
            continue;
        }
        let original = token.split("->").next().unwrap_or(token);
        shapes.push(shape(original, ',')?);
    }
    (!shapes.is_empty()).then(|| mismatch("broadcast", shapes, None))
}

/// `shape mismatch: objects cannot be broadcast to a single shape.  Mismatch
/// is between arg 0 with shape (2, 3) and arg 1 with shape (4,).`
fn numpy_broadcast_arrays(m: &str) -> Option<ShapeMismatch> {
    let rest = after(m, "objects cannot be broadcast to a single shape.")?;
    let (first, second) = after(rest, "with shape ")?.split_once(" and arg ")?;
    let second = after(second, "with shape ")?.trim_end_matches('.');
    let shapes = vec![shape(first, ',')?, shape(second, ',')?];
    Some(mismatch("broadcast", shapes, None))
}

/// `matmul: Input operand 1 has a mismatch in its core dimension 0, with
/// gufunc signature (n?,k),(k,m?)->(n?,m?) (size 4 is different from 3)`.
fn numpy_gufunc(m: &str) -> Option<ShapeMismatch> {
    let (name, rest) = m.split_once(": Input operand ")?;
    let sizes = after(rest, "(size ")?;
    let (actual, expected) = sizes.split_once(" is different from ")?;
    let expected = expected.split(')').next()?;
    let operation = name.rsplit(' ').next().unwrap_or(name);
    let sizes = (int(expected)?, int(actual)?);
    Some(mismatch(operation, Vec::new(), Some(sizes)))
}

/// `shapes (2,3) and (4,5) not aligned: 3 (dim 1) != 4 (dim 0)` (`dot`).
fn numpy_dot(m: &str) -> Option<ShapeMismatch> {
    let rest = m.strip_prefix("shapes ")?;
    let (shapes, sizes) = rest.split_once(" not aligned: ")?;
    let (a, b) = shapes.split_once(" and ")?;
    let (expected, actual) = sizes.split_once(" != ")?;
    let size = |s: &str| int(s.split(' ').next()?);
    let sizes = (size(expected)?, size(actual)?);
    let shapes = vec![shape(a, ',')?, shape(b, ',')?];
    Some(mismatch("dot", shapes, Some(sizes)))
}

/// `all the input array dimensions except for the concatenation axis must
/// match exactly, but along dimension 1, the array at index 0 has size 3 and
/// the array at index 1 has size 4`.
fn numpy_concatenate(m: &str) -> Option<ShapeMismatch> {
    let rest = after(m, "except for the concatenation axis must match exactly")?;
    let (first, second) = after(rest, "has size ")?.split_once(" and ")?;
    let second = after(second, "has size ")?;
    let sizes = (int(first)?, int(second)?);
    Some(mismatch("concatenate", Vec::new(), Some(sizes)))
}

/// torch: `mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)`: the
/// second operand's first dimension should be the first one's last.
fn torch_mm(m: &str) -> Option<ShapeMismatch> {
    let rest = after(m, "mat1 and mat2 shapes cannot be multiplied (")?;
    let (a, b) = rest.split(')').next()?.split_once(" and ")?;
    let (a, b) = (shape(a, 'x')?, shape(b, 'x')?);
    let sizes = a.dims.last().copied().zip(b.dims.first().copied());
    Some(mismatch("matmul", vec![a, b], sizes))
}

/// torch: `The size of tensor a (5) must match the size of tensor b (6) at
/// non-singleton dimension 0`.
fn torch_broadcast(m: &str) -> Option<ShapeMismatch> {
    let rest = after(m, "The size of tensor a (")?;
    let (a, rest) = rest.split_once(") must match the size of tensor b (")?;
    let b = rest.split(')').next()?;
    Some(mismatch("broadcast", Vec::new(), Some((int(a)?, int(b)?))))
}

fn mismatch(operation: &str, shapes: Vec<Shape>, sizes: Option<(i64, i64)>) -> ShapeMismatch {
    ShapeMismatch {
        operation: operation.to_owned(),
        shapes,
        expected_size: sizes.map(|s| s.0),
        actual_size: sizes.map(|s| s.1),
    }
}

/// torch's CUDA (ROCm's HIP is torch's `cuda` device too), XPU, MPS and CPU
/// allocators, numpy.
pub(crate) fn out_of_memory(m: &str) -> Option<OutOfMemory> {
    let gpu =
        |kind: &str| match after(m, "GPU ").and_then(|rest| int(rest.split([' ', ';']).next()?)) {
            Some(index) => format!("{kind}:{index}"),
            None => kind.to_owned(),
        };
    let device = if [
        "CUDA out of memory",
        "CUDA error: out of memory",
        "HIP out of memory",
    ]
    .iter()
    .any(|phrase| m.contains(phrase))
    {
        gpu("cuda")
    } else if m.contains("XPU out of memory") {
        gpu("xpu")
    } else if m.contains("MPS backend out of memory") {
        "mps".to_owned()
    } else if m.contains("DefaultCPUAllocator: can't allocate memory")
        || m.starts_with("Unable to allocate ")
    {
        "cpu".to_owned()
    } else {
        return None;
    };
    Some(OutOfMemory {
        device,
        requested_mib: requested_mib(m),
        free_mib: free_mib(m),
    })
}

/// `Tried to allocate 20.00 MiB`, `you tried to allocate 8000000000 bytes`,
/// `Unable to allocate 728. TiB`.
fn requested_mib(m: &str) -> Option<f64> {
    [
        "Tried to allocate ",
        "tried to allocate ",
        "Unable to allocate ",
    ]
    .iter()
    .find_map(|prefix| mib(after(m, prefix)?))
}

/// `of which 1.50 MiB is free` (torch 2.1+), `; 1.50 MiB free;` (earlier).
fn free_mib(m: &str) -> Option<f64> {
    if let Some(rest) = after(m, " of which ") {
        return mib(rest.split(" is free").next()?);
    }
    let end = m.find(" free;").or_else(|| m.find(" free)"))?;
    let start = m[..end].rfind(';')? + 1;
    mib(&m[start..end])
}

/// `20.00 MiB` (also KiB, GiB, TiB, bytes; torch's MPS `MB` and `GB` are
/// binary too) as MiB. Reads the first two words of `s`.
fn mib(s: &str) -> Option<f64> {
    let mut words = s.split_whitespace();
    let number: f64 = words.next()?.parse().ok()?;
    let unit = words.next()?.trim_end_matches(['.', ',', ';', ')']);
    let scale = match unit {
        "B" | "bytes" => 1.0 / 1024.0 / 1024.0,
        "KiB" | "KB" => 1.0 / 1024.0,
        "MiB" | "MB" => 1.0,
        "GiB" | "GB" => 1024.0,
        "TiB" | "TB" => 1024.0 * 1024.0,
        "PiB" | "PB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(number * scale)
}

/// numpy's casting errors and torch's dtype checks.
fn dtype_mismatch(m: &str) -> Option<DtypeMismatch> {
    numpy_cast(m)
        .or_else(|| torch_mm_dtype(m))
        .or_else(|| torch_scalar_type(m))
        .or_else(|| torch_result_type(m))
}

/// `Cannot cast ufunc 'add' output from dtype('float64') to dtype('int64')
/// with casting rule 'same_kind'`, and `Cannot cast array data from
/// dtype('int64') to dtype('float32') according to the rule 'safe'`.
fn numpy_cast(m: &str) -> Option<DtypeMismatch> {
    let rest = m.strip_prefix("Cannot cast ")?;
    let operation = match after(rest, "ufunc '") {
        Some(name) => name.split('\'').next()?,
        None => "cast",
    };
    let (got, expected) = after(rest, "from dtype(")?.split_once(" to dtype(")?;
    let quoted = |s: &str| Some(s.strip_prefix('\'')?.split('\'').next()?.to_owned());
    Some(DtypeMismatch {
        expected: quoted(expected)?,
        got: quoted(got)?,
        operation: operation.to_owned(),
    })
}

/// torch: `mat1 and mat2 must have the same dtype, but got Float and
/// BFloat16` and the older `expected m1 and m2 to have the same dtype, but
/// got: float != double` (also `mat1 and mat2`).
fn torch_mm_dtype(m: &str) -> Option<DtypeMismatch> {
    let (expected, got) = if let Some(rest) = after(m, "must have the same dtype, but got ") {
        rest.split_once(" and ")?
    } else {
        after(m, "to have the same dtype, but got: ")?.split_once(" != ")?
    };
    let operation = if m.contains("mat1") || m.contains("m1 and m2") {
        "mm"
    } else {
        ""
    };
    Some(dtype(expected, got, operation))
}

/// torch: `expected scalar type Float but found Double`, `Found dtype
/// Double but expected Float`.
fn torch_scalar_type(m: &str) -> Option<DtypeMismatch> {
    if let Some(rest) = after(m, "expected scalar type ") {
        let (expected, got) = rest.split_once(" but found ")?;
        return Some(dtype(expected, got, ""));
    }
    let (got, expected) = after(m, "Found dtype ")?.split_once(" but expected ")?;
    Some(dtype(expected, got, ""))
}

/// torch: `result type Float can't be cast to the desired output type Long`.
fn torch_result_type(m: &str) -> Option<DtypeMismatch> {
    let rest = after(m, "result type ")?;
    let (got, expected) = rest.split_once(" can't be cast to the desired output type ")?;
    Some(dtype(expected, got, ""))
}

fn dtype(expected: &str, got: &str, operation: &str) -> DtypeMismatch {
    DtypeMismatch {
        expected: dtype_name(expected),
        got: dtype_name(got),
        operation: operation.to_owned(),
    }
}

/// torch's scalar type names (`Float`, `c10::BFloat16`, `double`,
/// `torch.int64`) as numpy-style names (`float32`, `bfloat16`, `float64`,
/// `int64`); anything unknown as stated.
fn dtype_name(stated: &str) -> String {
    let word = stated.split_whitespace().next().unwrap_or("");
    let word = word.trim_end_matches(['.', ',', ';', ')']);
    let word = word.strip_prefix("c10::").unwrap_or(word);
    let word = word.strip_prefix("torch.").unwrap_or(word);
    let name = match word {
        "Float" | "float" => "float32",
        "Double" | "double" => "float64",
        "Half" | "half" => "float16",
        "BFloat16" => "bfloat16",
        "Long" | "long" | "int64_t" => "int64",
        "Int" | "int" => "int32",
        "Short" | "short" => "int16",
        "Char" | "int8_t" => "int8",
        "Byte" | "uint8_t" | "unsigned char" => "uint8",
        "Bool" => "bool",
        "ComplexHalf" => "complex32",
        "ComplexFloat" => "complex64",
        "ComplexDouble" => "complex128",
        other => other,
    };
    name.to_owned()
}

/// `(2,3)`, `(2, 3)`, `(4,)`, `()` with `sep` `,`; `2x3` with `sep` `x`.
fn shape(s: &str, sep: char) -> Option<Shape> {
    let s = s.trim();
    let inner = match sep {
        ',' => s.strip_prefix('(')?.strip_suffix(')')?,
        _ => s,
    };
    let dims = inner
        .split(sep)
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(int)
        .collect::<Option<Vec<_>>>()?;
    Some(Shape { dims })
}

fn int(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

/// The text after the first `marker` in `s`.
fn after<'a>(s: &'a str, marker: &str) -> Option<&'a str> {
    s.find(marker).map(|i| &s[i + marker.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `message` gives `expected`, written as the `Debug` of the
    /// translation without its type names, or `None`.
    #[track_caller]
    fn check(message: &str, expected: &str) {
        let got = match classify(message) {
            None => "None".to_owned(),
            Some(Kind::ShapeMismatch(s)) => format!(
                "shape {} {:?} {:?} {:?}",
                s.operation,
                s.shapes.iter().map(|s| s.dims.clone()).collect::<Vec<_>>(),
                s.expected_size,
                s.actual_size
            ),
            Some(Kind::OutOfMemory(o)) => {
                format!("oom {} {:?} {:?}", o.device, o.requested_mib, o.free_mib)
            }
            Some(Kind::DtypeMismatch(d)) => {
                format!("dtype {} {} {:?}", d.expected, d.got, d.operation)
            }
        };
        assert_eq!(got, expected, "message: {message}");
    }

    #[test]
    fn numpy_shapes() {
        check(
            "operands could not be broadcast together with shapes (2,3) (4,) ",
            "shape broadcast [[2, 3], [4]] None None",
        );
        check(
            "operands could not be broadcast together with shapes (2,3) (4,) (5,) ",
            "shape broadcast [[2, 3], [4], [5]] None None",
        );
        check(
            "operands could not be broadcast together with shapes () (0,) (3,1) ",
            "shape broadcast [[], [0], [3, 1]] None None",
        );
        check(
            "operands could not be broadcast together with remapped shapes [original->remapped]: (3,)  and requested shape (4,)",
            "shape broadcast [[3], [4]] None None",
        );
        check(
            "operands could not be broadcast together with remapped shapes [original->remapped]: (2,3)->(2,newaxis,3) (4,5)->(5,4) ",
            "shape broadcast [[2, 3], [4, 5]] None None",
        );
        check(
            "shape mismatch: objects cannot be broadcast to a single shape.  Mismatch is between arg 0 with shape (2, 3) and arg 1 with shape (4,).",
            "shape broadcast [[2, 3], [4]] None None",
        );
        check(
            "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature (n?,k),(k,m?)->(n?,m?) (size 4 is different from 3)",
            "shape matmul [] Some(3) Some(4)",
        );
        check(
            "vecdot: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature (n),(n)->() (size 2 is different from 3)",
            "shape vecdot [] Some(3) Some(2)",
        );
        check(
            "shapes (2,3) and (4,5) not aligned: 3 (dim 1) != 4 (dim 0)",
            "shape dot [[2, 3], [4, 5]] Some(3) Some(4)",
        );
        check(
            "all the input array dimensions except for the concatenation axis must match exactly, but along dimension 1, the array at index 0 has size 3 and the array at index 1 has size 4",
            "shape concatenate [] Some(3) Some(4)",
        );
    }

    #[test]
    fn torch_shapes() {
        check(
            "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)",
            "shape matmul [[2, 3], [4, 5]] Some(3) Some(4)",
        );
        check(
            "The size of tensor a (5) must match the size of tensor b (6) at non-singleton dimension 0",
            "shape broadcast [] Some(5) Some(6)",
        );
    }

    #[test]
    fn out_of_memory_messages() {
        check(
            "CUDA out of memory. Tried to allocate 316.00 MiB. GPU 1 has a total capacity of 39.38 GiB of which 293.81 MiB is free. Process 643064 has 33.81 GiB memory in use.",
            "oom cuda:1 Some(316.0) Some(293.81)",
        );
        check(
            "CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 15.78 GiB total capacity; 14.50 GiB already allocated; 1.50 MiB free; 14.60 GiB reserved in total by PyTorch)",
            "oom cuda:0 Some(20.0) Some(1.5)",
        );
        check(
            "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.15 GiB of which 512.00 KiB is free.",
            "oom cuda:0 Some(2048.0) Some(0.5)",
        );
        check("CUDA error: out of memory", "oom cuda None None");
        check(
            "HIP out of memory. Tried to allocate 512.00 MiB. GPU 0 has a total capacity of 63.98 GiB of which 0 bytes is free.",
            "oom cuda:0 Some(512.0) Some(0.0)",
        );
        check(
            "XPU out of memory. Tried to allocate 1.00 GiB (GPU 0; 15.11 GiB total capacity; 14.00 GiB already allocated; 14.20 GiB reserved in total by PyTorch)",
            "oom xpu:0 Some(1024.0) None",
        );
        check(
            "MPS backend out of memory (MPS allocated: 17.36 GB, other allocations: 613.56 MB, max allowed: 18.13 GB). Tried to allocate 192.00 MB on private pool. Use PYTORCH_MPS_HIGH_WATERMARK_RATIO=0.0 to disable upper limit",
            "oom mps Some(192.0) None",
        );
        check(
            "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: you tried to allocate 8589934592 bytes. Error code 12 (Cannot allocate memory)",
            "oom cpu Some(8192.0) None",
        );
        check(
            "Unable to allocate 728. TiB for an array with shape (10000000, 10000000) and data type float64",
            "oom cpu Some(763363328.0) None",
        );
    }

    #[test]
    fn dtype_messages() {
        check(
            "Cannot cast ufunc 'add' output from dtype('float64') to dtype('int64') with casting rule 'same_kind'",
            "dtype int64 float64 \"add\"",
        );
        check(
            "Cannot cast ufunc 'multiply' input 1 from dtype('complex128') to dtype('float64') with casting rule 'same_kind'",
            "dtype float64 complex128 \"multiply\"",
        );
        check(
            "Cannot cast array data from dtype('int64') to dtype('float32') according to the rule 'safe'",
            "dtype float32 int64 \"cast\"",
        );
        check(
            "expected scalar type Float but found Double",
            "dtype float32 float64 \"\"",
        );
        check(
            "expected m1 and m2 to have the same dtype, but got: float != double",
            "dtype float32 float64 \"mm\"",
        );
        check(
            "expected mat1 and mat2 to have the same dtype, but got: float != c10::BFloat16",
            "dtype float32 bfloat16 \"mm\"",
        );
        check(
            "mat1 and mat2 must have the same dtype, but got Float and BFloat16",
            "dtype float32 bfloat16 \"mm\"",
        );
        check(
            "Found dtype Double but expected Float",
            "dtype float32 float64 \"\"",
        );
        check(
            "result type Float can't be cast to the desired output type Long",
            "dtype int64 float32 \"\"",
        );
    }

    #[test]
    fn other_messages_stay_untranslated() {
        for message in [
            "",
            "OOM",
            "the room is out of memory sticks",
            "invalid literal for int() with base 10: 'x'",
            "operands could not be broadcast together with shapes",
            "cannot reshape array of size 6 into shape (4,5)",
            "axis 2 is out of bounds for array of dimension 1",
            "ufunc 'add' did not contain a loop with signature matching types (dtype('<U1'), dtype('int64')) -> None",
            "shapes are fine: 3 != 4",
            "The size of tensor a (x) must match the size of tensor b (6)",
        ] {
            check(message, "None");
        }
    }
}
