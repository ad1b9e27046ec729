//! What each command's `--help` shows after its options: examples and exit codes (the one
//! rule of every command: 0 when everything checked out, 1 when a check failed or the input is
//! bad, 2 when the command line is wrong or a file cannot be used at all).

// `demo`, `sim` and `inspect reparse` are built on Unix hosts only.
#![cfg_attr(not(unix), allow(dead_code))]

/// `inspect container`.
pub(crate) const INSPECT_CONTAINER: &str = "\
Examples:
  rehydrate inspect container --source 'System Volume Information/Dedup/ChunkStore/{GUID}.ddp/Data/00000001.00000001.ccc'
  rehydrate inspect container --source 00000001.00000001.ccc --json

Exit codes: 0 every structure checks out; 1 a record or header is damaged; 2 the file cannot be
read.";

/// `inspect reparse`.
pub(crate) const INSPECT_REPARSE: &str = "\
Examples:
  rehydrate inspect reparse --source /mnt/dedupvol/docs/report.docx
  rehydrate inspect reparse --source reparse-buffer.bin --json

Exit codes: 0 a valid dedup reparse point; 1 none, or damaged; 2 the file cannot be read.";

/// `inspect store`.
pub(crate) const INSPECT_STORE: &str = "\
Examples:
  rehydrate inspect store --source /mnt/dedupvol
  rehydrate inspect store --source /tmp/vol --json
  rehydrate inspect store --source backup.vhdx --partition 2

Exit codes: 0 every container checks out; 1 a container is damaged or the store is missing;
2 the folder or image cannot be read.";

/// `carve`.
pub(crate) const CARVE: &str = "\
Examples:
  rehydrate carve --source 00000001.00000001.ccc --ids 1-39 --to recovered.pdf
  rehydrate carve --source 00000001.00000001.ccc --ids 40-45,47,46 --to out.bin --json

Exit codes: 0 every chunk carved and verified; 1 a chunk is damaged or missing; 2 the command
line is wrong or the output exists (--force replaces it).";

/// `vss show`.
pub(crate) const VSS_SHOW: &str = "\
Examples:
  rehydrate vss show --source WM5.xml
  rehydrate vss show --source BCDocument.xml --json

Exit codes: 0 the document parsed; 1 it is not a valid WMD or BCD; 2 it cannot be read.";

/// `vss plan`.
pub(crate) const VSS_PLAN: &str = "\
Examples:
  rehydrate vss plan --metadata backup/meta --bcd backup/BCDocument.xml --catalog files.txt
  rehydrate vss plan --metadata backup/meta --bcd backup/BCDocument.xml --catalog files.txt \\
      --select 'WIN2012-SQL17-2\\master' --env SQLDATA=E:\\DATA --json

Exit codes: 0 every selected component can be restored; 1 writer errors, an unknown %VAR%, a
selection matching nothing, or documents of different backups; 2 a malformed --env/--volume or
an unreadable file.";

/// `vss restore`.
pub(crate) const VSS_RESTORE: &str = "\
Examples:
  rehydrate vss restore --metadata backup/meta --bcd backup/BCDocument.xml --source backup/files --dry-run
  rehydrate vss restore --metadata backup/meta --bcd backup/BCDocument.xml --source backup/files \\
      --to /tmp/restored --reboot --json

Exit codes: 0 every selected component restored; 1 a component failed, a rename failed at the
simulated reboot, or the documents are of different backups (--force restores what matches);
2 the command line is wrong or a folder cannot be used.";

/// `verify`.
pub(crate) const VERIFY: &str = "\
Examples:
  rehydrate verify --source /mnt/dedupvol
  rehydrate verify --source backup.vhdx 'Users/ann/' --json

Exit codes: 0 every dedup file checks out; 1 a file is damaged, or the source is not a dedup
volume; 2 the command line is wrong or the source cannot be used.";

/// `ls`.
pub(crate) const LS: &str = "\
Examples:
  rehydrate ls --source backup.vhdx
  rehydrate ls --source disk.E01 --partition 2 'Users/ann/' --json

Exit codes: 0 listed; 1 the image or its NTFS volume is damaged, or the path is not there;
2 the command line is wrong or the image cannot be read.";

/// `cat`.
pub(crate) const CAT: &str = "\
Examples:
  rehydrate cat --source backup.vhdx 'docs/report.pdf' > report.pdf
  rehydrate cat --source disk.E01 'Users/ann/mail.pst' | sha256sum

Exit codes: 0 the file was written whole (every dedup chunk verified); 1 it is damaged or not
there; 2 the command line is wrong or the image cannot be read.";

/// `demo`.
pub(crate) const DEMO: &str = "\
Examples:
  rehydrate demo
  rehydrate demo --size-mib 64 --seed 7 --to /tmp/demo-backup

Exit codes: 0 every file came back byte-identical; 1 one did not; 2 the command line is wrong.";

/// `sim optimize`.
pub(crate) const SIM_OPTIMIZE: &str = "\
Examples:
  rehydrate sim optimize --source ~/some-folder --to /tmp/vol
  rehydrate sim optimize --source ~/some-folder --to /tmp/vol --skip-unsupported --json
  rehydrate sim optimize --source ~/some-folder --to /tmp/vol --reparse v1 --container-size 256M --gc

Exit codes: 0 optimized and written; 1 the source holds what a Windows volume cannot (symbolic
links, special files, names differing only by case; --skip-unsupported leaves them out), and
nothing was written; 2 the command line is wrong or a folder cannot be used.";

/// `completions`.
pub(crate) const COMPLETIONS: &str = "\
Examples:
  rehydrate completions bash > ~/.local/share/bash-completion/completions/rehydrate
  rehydrate completions zsh > ~/.zfunc/_rehydrate

Exit codes: 0 printed; 2 an unknown shell.";

/// `man`.
pub(crate) const MAN: &str = "\
Examples:
  rehydrate man > rehydrate.1 && man ./rehydrate.1

Exit codes: 0 printed.";
