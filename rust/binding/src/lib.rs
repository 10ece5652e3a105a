//! `cuprum._rust`: the Python face of the `cuprum_pump` crate.

use pyo3::prelude::*;

/// The Rust stream backend for Cuprum.
#[pymodule]
fn _rust(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", cuprum_pump::VERSION)?;
    Ok(())
}
