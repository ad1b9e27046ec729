//! The COM bridge's FFI half: an `IDedupReadFileCallback` object over a
//! [`dedup_restore::BackupStore`], and a call of `IDedupBackupSupport::RestoreFiles`.
//!
//! The interfaces are declared by hand (`windows-sys` 0.61 does not carry `ddpbackup.h`); their
//! vtable order, signatures and GUIDs are from Microsoft's `ddpbackup.h` — see [`crate::bridge`]
//! for the citation. All buffer, offset and plan logic lives in [`crate::bridge`] (pure Rust,
//! tested on every target); this module only converts pointers, BSTRs and COM memory.

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use dedup_restore::{BackupStore, Hresult, MAX_FILES, RestoreReport};
use platform::WinPath;
use windows_sys::Win32::Foundation::{
    RPC_E_CHANGED_MODE, SysAllocStringLen, SysFreeString, SysStringLen,
};
use windows_sys::Win32::System::Com::{
    CLSCTX_INPROC_SERVER, CLSCTX_LOCAL_SERVER, COINIT_MULTITHREADED, CoCreateInstance,
    CoInitializeEx, CoTaskMemAlloc, CoTaskMemFree, CoUninitialize,
};
use windows_sys::core::{BSTR, GUID, HRESULT, IUnknown_Vtbl};

use crate::WinVolume;
use crate::bridge::{
    self, CallbackCounters, DdpFileExtent, DedupContainerExtent, E_NOINTERFACE, E_OUTOFMEMORY,
    E_POINTER, E_UNEXPECTED,
};

fn guid_u128(g: &GUID) -> u128 {
    (u128::from(g.data1) << 96)
        | (u128::from(g.data2) << 80)
        | (u128::from(g.data3) << 64)
        | u128::from(u64::from_be_bytes(g.data4))
}

fn hr(h: Hresult) -> HRESULT {
    h.0.cast_signed()
}

/// An owned BSTR.
struct Bstr(BSTR);

impl Bstr {
    fn new(s: &str) -> Result<Self, Hresult> {
        let w: Vec<u16> = s.encode_utf16().collect();
        let len = u32::try_from(w.len()).map_err(|_| Hresult::E_INVALIDARG)?;
        // SAFETY: `w` holds `len` UTF-16 units; SysAllocStringLen copies them.
        let b = unsafe { SysAllocStringLen(w.as_ptr(), len) };
        if b.is_null() {
            return Err(E_OUTOFMEMORY);
        }
        Ok(Self(b))
    }
}

impl Drop for Bstr {
    fn drop(&mut self) {
        // SAFETY: allocated by SysAllocStringLen, freed once.
        unsafe { SysFreeString(self.0) };
    }
}

/// The text of a BSTR passed in by COM (a NULL BSTR is the empty string).
///
/// # Safety
/// `b` is NULL or a valid BSTR for the duration of the call.
unsafe fn bstr_text(b: BSTR) -> Result<String, Hresult> {
    if b.is_null() {
        return Ok(String::new());
    }
    // SAFETY: caller guarantees a valid BSTR: its length prefix gives the units that follow.
    let units = unsafe {
        let n = SysStringLen(b) as usize;
        std::slice::from_raw_parts(b, n)
    };
    String::from_utf16(units).map_err(|_| Hresult::E_INVALIDARG)
}

/// `IDedupReadFileCallbackVtbl` (`ddpbackup.h`, C-style interface): IUnknown, then
/// `ReadBackupFile`, `OrderContainersRestore`, `PreviewContainerRead`, all `STDMETHODCALLTYPE`.
#[repr(C)]
struct CallbackVtbl {
    base: IUnknown_Vtbl,
    read_backup_file: unsafe extern "system" fn(
        this: *mut c_void,
        file_full_path: BSTR,
        file_offset: i64,
        size_to_read: u32,
        file_buffer: *mut u8,
        returned_size: *mut u32,
        flags: u32,
    ) -> HRESULT,
    order_containers_restore: unsafe extern "system" fn(
        this: *mut c_void,
        number_of_containers: u32,
        container_paths: *const BSTR,
        read_plan_entries: *mut u32,
        read_plan: *mut *mut DedupContainerExtent,
    ) -> HRESULT,
    preview_container_read: unsafe extern "system" fn(
        this: *mut c_void,
        file_full_path: BSTR,
        number_of_reads: u32,
        read_offsets: *const DdpFileExtent,
    ) -> HRESULT,
}

/// `IDedupBackupSupportVtbl` (`ddpbackup.h`): IUnknown, then `RestoreFiles`.
#[repr(C)]
struct BackupSupportVtbl {
    base: IUnknown_Vtbl,
    restore_files: unsafe extern "system" fn(
        this: *mut c_void,
        number_of_files: u32,
        file_full_paths: *const BSTR,
        store: *mut c_void,
        flags: u32,
        file_results: *mut HRESULT,
    ) -> HRESULT,
}

/// The COM object: the vtable pointer first, as COM requires.
#[repr(C)]
struct Object {
    vtbl: &'static CallbackVtbl,
    refs: AtomicU32,
    store: Arc<dyn BackupStore>,
    counters: CallbackCounters,
}

static VTBL: CallbackVtbl = CallbackVtbl {
    base: IUnknown_Vtbl {
        QueryInterface: query_interface,
        AddRef: add_ref,
        Release: release,
    },
    read_backup_file,
    order_containers_restore,
    preview_container_read,
};

/// Runs `f`, turning a panic into `E_UNEXPECTED` (a panic must not unwind into COM's caller).
fn guarded(f: impl FnOnce() -> HRESULT) -> HRESULT {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(hr(E_UNEXPECTED))
}

unsafe extern "system" fn query_interface(
    this: *mut c_void,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    if out.is_null() {
        return hr(E_POINTER);
    }
    // SAFETY: `out` is non-NULL and, per the COM contract, writable.
    unsafe { *out = ptr::null_mut() };
    if iid.is_null() {
        return hr(E_POINTER);
    }
    // SAFETY: COM passes a valid IID pointer.
    let want = guid_u128(unsafe { &*iid });
    if want == bridge::IID_IUNKNOWN || want == bridge::IID_IDEDUP_READ_FILE_CALLBACK {
        // SAFETY: `this` is our live object (COM calls methods only on references it holds).
        unsafe {
            add_ref(this);
            *out = this;
        }
        return 0;
    }
    hr(E_NOINTERFACE)
}

unsafe extern "system" fn add_ref(this: *mut c_void) -> u32 {
    // SAFETY: `this` points to a live `Object` while any reference is held.
    let obj = unsafe { &*this.cast::<Object>() };
    obj.refs.fetch_add(1, Ordering::Relaxed) + 1
}

unsafe extern "system" fn release(this: *mut c_void) -> u32 {
    // SAFETY: as in add_ref.
    let obj = unsafe { &*this.cast::<Object>() };
    let left = obj.refs.fetch_sub(1, Ordering::Release) - 1;
    if left == 0 {
        std::sync::atomic::fence(Ordering::Acquire);
        // SAFETY: the last reference is gone; the object was made by Box::into_raw in
        // ReadFileCallback::new and is freed exactly once, here.
        drop(unsafe { Box::from_raw(this.cast::<Object>()) });
    }
    left
}

unsafe extern "system" fn read_backup_file(
    this: *mut c_void,
    file_full_path: BSTR,
    file_offset: i64,
    size_to_read: u32,
    file_buffer: *mut u8,
    returned_size: *mut u32,
    _flags: u32,
) -> HRESULT {
    guarded(|| {
        if returned_size.is_null() || (file_buffer.is_null() && size_to_read > 0) {
            return hr(E_POINTER);
        }
        // SAFETY: `returned_size` is non-NULL and writable (out parameter).
        unsafe { *returned_size = 0 };
        // SAFETY: live object (see add_ref).
        let obj = unsafe { &*this.cast::<Object>() };
        // SAFETY: COM passes a valid BSTR for the duration of the call.
        let text = match unsafe { bstr_text(file_full_path) } {
            Ok(t) => t,
            Err(h) => return hr(h),
        };
        let buf: &mut [u8] = if size_to_read == 0 {
            &mut []
        } else {
            // SAFETY: the caller provides `FileBuffer` writable for `SizeToRead` bytes
            // (`_Out_writes_to_(SizeToRead, *ReturnedSize)`), not aliased during the call.
            unsafe { std::slice::from_raw_parts_mut(file_buffer, size_to_read as usize) }
        };
        let (h, n) = bridge::read_backup_file(&*obj.store, &obj.counters, &text, file_offset, buf);
        // SAFETY: checked non-NULL above.
        unsafe { *returned_size = n };
        hr(h)
    })
}

unsafe extern "system" fn order_containers_restore(
    this: *mut c_void,
    number_of_containers: u32,
    container_paths: *const BSTR,
    read_plan_entries: *mut u32,
    read_plan: *mut *mut DedupContainerExtent,
) -> HRESULT {
    guarded(|| {
        if read_plan_entries.is_null()
            || read_plan.is_null()
            || (container_paths.is_null() && number_of_containers > 0)
        {
            return hr(E_POINTER);
        }
        // SAFETY: both out parameters are non-NULL and writable.
        unsafe {
            *read_plan_entries = 0;
            *read_plan = ptr::null_mut();
        }
        // SAFETY: live object.
        let obj = unsafe { &*this.cast::<Object>() };
        let bstrs: &[BSTR] = if number_of_containers == 0 {
            &[]
        } else {
            // SAFETY: `_In_reads_(NumberOfContainers)`: the array holds that many BSTRs.
            unsafe { std::slice::from_raw_parts(container_paths, number_of_containers as usize) }
        };
        let mut texts = Vec::with_capacity(bstrs.len());
        for &b in bstrs {
            // SAFETY: each element is a valid BSTR for the call.
            match unsafe { bstr_text(b) } {
                Ok(t) => texts.push(t),
                Err(h) => return hr(h),
            }
        }
        let plan = match bridge::order_containers_restore(&*obj.store, &obj.counters, &texts) {
            Ok(p) => p,
            Err(h) => return hr(h),
        };
        if plan.is_empty() {
            return 0;
        }
        let bytes = plan.len() * size_of::<DedupContainerExtent>();
        // SAFETY: plain allocation; the caller frees it with CoTaskMemFree (the SDK sample
        // allocates the plan with MIDL_user_allocate, which is CoTaskMemAlloc for COM).
        let mem = unsafe { CoTaskMemAlloc(bytes) }.cast::<DedupContainerExtent>();
        if mem.is_null() {
            return hr(E_OUTOFMEMORY);
        }
        // SAFETY: `mem` has room for `plan.len()` extents (CoTaskMemAlloc aligns to 8 or more),
        // and does not overlap `plan`.
        unsafe {
            ptr::copy_nonoverlapping(plan.as_ptr(), mem, plan.len());
            *read_plan = mem;
            *read_plan_entries = plan.len() as u32;
        }
        0
    })
}

unsafe extern "system" fn preview_container_read(
    this: *mut c_void,
    file_full_path: BSTR,
    number_of_reads: u32,
    read_offsets: *const DdpFileExtent,
) -> HRESULT {
    guarded(|| {
        if read_offsets.is_null() && number_of_reads > 0 {
            return hr(E_POINTER);
        }
        // SAFETY: live object.
        let obj = unsafe { &*this.cast::<Object>() };
        // SAFETY: valid BSTR for the call.
        let text = match unsafe { bstr_text(file_full_path) } {
            Ok(t) => t,
            Err(h) => return hr(h),
        };
        let reads: &[DdpFileExtent] = if number_of_reads == 0 {
            &[]
        } else {
            // SAFETY: `_In_reads_(NumberOfReads)`.
            unsafe { std::slice::from_raw_parts(read_offsets, number_of_reads as usize) }
        };
        hr(bridge::preview_container_read(
            &*obj.store,
            &obj.counters,
            &text,
            reads,
        ))
    })
}

/// An `IDedupReadFileCallback` COM object over a backup store, and this side's reference to
/// it (released on drop; the object lives while Windows holds references too).
///
/// The `call_*` methods call the object through its vtable exactly as a COM client would (a
/// BSTR in, COM-allocated memory out); they exist for tests and diagnostics.
#[derive(Debug)]
pub struct ReadFileCallback {
    obj: NonNull<Object>,
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Object")
            .field("refs", &self.refs)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

// SAFETY: the object's state is atomics and an `Arc<dyn BackupStore>` (Send + Sync by the
// trait's bounds); COM may call it from any thread of the MTA.
unsafe impl Send for ReadFileCallback {}
// SAFETY: as above.
unsafe impl Sync for ReadFileCallback {}

impl ReadFileCallback {
    /// A new object (reference count 1, held by the returned value).
    #[must_use]
    pub fn new(store: Arc<dyn BackupStore>) -> Self {
        let obj = Box::new(Object {
            vtbl: &VTBL,
            refs: AtomicU32::new(1),
            store,
            counters: CallbackCounters::default(),
        });
        Self {
            obj: NonNull::from(Box::leak(obj)),
        }
    }

    /// The `IDedupReadFileCallback*` to pass to COM (borrowed: AddRef it to keep it).
    #[must_use]
    pub fn as_raw(&self) -> *mut c_void {
        self.obj.as_ptr().cast()
    }

    /// The calls counted so far.
    #[must_use]
    pub fn counters(&self) -> &CallbackCounters {
        // SAFETY: we hold a reference, so the object is alive.
        unsafe { &self.obj.as_ref().counters }
    }

    /// The current reference count (ours included).
    #[must_use]
    pub fn ref_count(&self) -> u32 {
        // SAFETY: as in counters.
        unsafe { self.obj.as_ref().refs.load(Ordering::Relaxed) }
    }

    fn vtbl(&self) -> &'static CallbackVtbl {
        // SAFETY: as in counters.
        unsafe { self.obj.as_ref().vtbl }
    }

    /// `QueryInterface(iid)` through the vtable: true if the object answers (the extra
    /// reference is released again).
    #[must_use]
    pub fn call_query_interface(&self, iid: u128) -> bool {
        let g = GUID::from_u128(iid);
        let mut out = ptr::null_mut();
        // SAFETY: our live object, a valid IID and out pointer.
        let h =
            unsafe { (self.vtbl().base.QueryInterface)(self.as_raw(), &raw const g, &raw mut out) };
        if h == 0 && !out.is_null() {
            // SAFETY: QueryInterface added a reference to `out` (our object); give it back.
            unsafe { (self.vtbl().base.Release)(out) };
            return true;
        }
        false
    }

    /// `ReadBackupFile(path, offset, buf.len(), buf, &returned, 0)` through the vtable.
    pub fn call_read_backup_file(&self, path: &str, offset: i64, buf: &mut [u8]) -> (Hresult, u32) {
        let b = match Bstr::new(path) {
            Ok(b) => b,
            Err(h) => return (h, 0),
        };
        let mut returned = u32::MAX;
        // SAFETY: our live object; a valid BSTR; `buf` writable for its length; `returned`
        // writable.
        let h = unsafe {
            (self.vtbl().read_backup_file)(
                self.as_raw(),
                b.0,
                offset,
                u32::try_from(buf.len()).unwrap_or(u32::MAX),
                buf.as_mut_ptr(),
                &raw mut returned,
                0,
            )
        };
        (Hresult(h.cast_unsigned()), returned)
    }

    /// `OrderContainersRestore(paths)` through the vtable; the returned plan is copied out and
    /// its COM memory freed with `CoTaskMemFree`, as Windows would.
    pub fn call_order_containers_restore(
        &self,
        paths: &[&str],
    ) -> Result<Vec<DedupContainerExtent>, Hresult> {
        let bstrs = paths
            .iter()
            .map(|p| Bstr::new(p))
            .collect::<Result<Vec<_>, _>>()?;
        let raw: Vec<BSTR> = bstrs.iter().map(|b| b.0).collect();
        let mut entries = u32::MAX;
        let mut plan: *mut DedupContainerExtent = ptr::null_mut();
        // SAFETY: our live object; `raw` holds `raw.len()` valid BSTRs; out pointers writable.
        let h = unsafe {
            (self.vtbl().order_containers_restore)(
                self.as_raw(),
                raw.len() as u32,
                raw.as_ptr(),
                &raw mut entries,
                &raw mut plan,
            )
        };
        if h != 0 {
            return Err(Hresult(h.cast_unsigned()));
        }
        if plan.is_null() {
            return if entries == 0 {
                Ok(Vec::new())
            } else {
                Err(E_POINTER)
            };
        }
        // SAFETY: on success `plan` holds `entries` extents allocated with CoTaskMemAlloc.
        let out = unsafe { std::slice::from_raw_parts(plan, entries as usize).to_vec() };
        // SAFETY: freed once, by the receiver, as the contract says.
        unsafe { CoTaskMemFree(plan.cast::<c_void>()) };
        Ok(out)
    }

    /// `PreviewContainerRead(path, reads)` through the vtable.
    #[must_use]
    pub fn call_preview_container_read(&self, path: &str, reads: &[DdpFileExtent]) -> Hresult {
        let b = match Bstr::new(path) {
            Ok(b) => b,
            Err(h) => return h,
        };
        // SAFETY: our live object; a valid BSTR; `reads` readable for its length.
        let h = unsafe {
            (self.vtbl().preview_container_read)(
                self.as_raw(),
                b.0,
                reads.len() as u32,
                reads.as_ptr(),
            )
        };
        Hresult(h.cast_unsigned())
    }
}

impl Drop for ReadFileCallback {
    fn drop(&mut self) {
        // SAFETY: we own one reference; Release frees the object when it is the last.
        unsafe { release(self.as_raw()) };
    }
}

/// Why [`restore_files_native`] could not run `RestoreFiles` at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NativeRestoreError {
    /// More than `MAX_FILES` paths (RestoreFiles would answer E_INVALIDARG).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// `DedupBackupSupport` is not registered: the Data Deduplication feature is not installed
    /// (it exists on Windows Server 2012 and later only).
    #[error("IDedupBackupSupport is not available (Data Deduplication not installed): {0}")]
    NotInstalled(Hresult),
    /// A COM call failed.
    #[error("{call} failed: {hresult}")]
    Com {
        /// The call.
        call: &'static str,
        /// Its HRESULT.
        hresult: Hresult,
    },
}

/// Our reference to an `IDedupBackupSupport`, released on drop.
struct SupportRef(*mut c_void);

impl Drop for SupportRef {
    fn drop(&mut self) {
        // SAFETY: `self.0` is an IDedupBackupSupport* we own one reference to; its vtable
        // starts with IUnknown.
        unsafe {
            let vtbl = *self.0.cast::<*const IUnknown_Vtbl>();
            ((*vtbl).Release)(self.0);
        }
    }
}

struct ComInit(bool);

impl ComInit {
    fn new() -> Result<Self, NativeRestoreError> {
        // SAFETY: reserved pointer NULL; initializes COM for this thread.
        let h = unsafe { CoInitializeEx(ptr::null(), COINIT_MULTITHREADED as u32) };
        if h >= 0 {
            Ok(Self(true))
        } else if h == RPC_E_CHANGED_MODE {
            // The thread is already in a single-threaded apartment; use it as it is.
            Ok(Self(false))
        } else {
            Err(NativeRestoreError::Com {
                call: "CoInitializeEx",
                hresult: Hresult(h.cast_unsigned()),
            })
        }
    }
}

impl Drop for ComInit {
    fn drop(&mut self) {
        if self.0 {
            // SAFETY: balances our successful CoInitializeEx on this thread.
            unsafe { CoUninitialize() };
        }
    }
}

/// Calls Microsoft's `IDedupBackupSupport::RestoreFiles` (CLSID `DedupBackupSupport`) for
/// `paths` on `volume`, with a [`ReadFileCallback`] over `store`, flag
/// `DEDUP_RECONSTRUCT_UNOPTIMIZED`, and returns the per-file HRESULTs as a
/// [`RestoreReport`] (stats: the callback's reads and bytes).
///
/// Needs Windows Server with the Data Deduplication feature installed and, for protected
/// files, `SeBackupPrivilege`/`SeRestorePrivilege` (elevated). Paths are passed as ordinary
/// full paths (`C:\…`), as the documentation's "full paths" and the SDK sample do.
pub fn restore_files_native(
    volume: &WinVolume,
    paths: &[WinPath],
    store: Arc<dyn BackupStore>,
) -> Result<RestoreReport, NativeRestoreError> {
    if paths.len() > MAX_FILES {
        return Err(NativeRestoreError::InvalidArgument(format!(
            "{} paths given; RestoreFiles takes at most {MAX_FILES}",
            paths.len()
        )));
    }
    let started = Instant::now();
    let _com = ComInit::new()?;
    let clsid = GUID::from_u128(bridge::CLSID_DEDUP_BACKUP_SUPPORT);
    let iid = GUID::from_u128(bridge::IID_IDEDUP_BACKUP_SUPPORT);
    let mut support: *mut c_void = ptr::null_mut();
    // SAFETY: valid CLSID/IID pointers, no aggregation, `support` receives the interface.
    let h = unsafe {
        CoCreateInstance(
            &raw const clsid,
            ptr::null_mut(),
            CLSCTX_INPROC_SERVER | CLSCTX_LOCAL_SERVER,
            &raw const iid,
            &raw mut support,
        )
    };
    if h < 0 || support.is_null() {
        let hresult = Hresult(h.cast_unsigned());
        return Err(if hresult == bridge::REGDB_E_CLASSNOTREG {
            NativeRestoreError::NotInstalled(hresult)
        } else {
            NativeRestoreError::Com {
                call: "CoCreateInstance(DedupBackupSupport)",
                hresult,
            }
        });
    }
    let support = SupportRef(support);
    let bstrs = paths
        .iter()
        .map(|p| Bstr::new(&volume.full_path(p)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|hresult| NativeRestoreError::Com {
            call: "SysAllocStringLen",
            hresult,
        })?;
    let raw: Vec<BSTR> = bstrs.iter().map(|b| b.0).collect();
    let mut results: Vec<HRESULT> = vec![0; paths.len()];
    let callback = ReadFileCallback::new(store);
    // SAFETY: `support.0` is a live IDedupBackupSupport*, whose vtable is BackupSupportVtbl
    // (ddpbackup.h); `raw` holds `paths.len()` BSTRs and `results` room for as many HRESULTs;
    // the callback stays alive for the call (and longer if Windows AddRefs it).
    let overall = unsafe {
        let vtbl = *support.0.cast::<*const BackupSupportVtbl>();
        ((*vtbl).restore_files)(
            support.0,
            raw.len() as u32,
            raw.as_ptr(),
            callback.as_raw(),
            bridge::DEDUP_RECONSTRUCT_UNOPTIMIZED,
            results.as_mut_ptr(),
        )
    };
    let elapsed = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    Ok(bridge::report_from_native(
        paths,
        overall,
        &results,
        callback.counters(),
        elapsed,
    ))
}
