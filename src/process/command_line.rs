//! A Mesos `CommandInfo` as the process to start: `shell` runs `value` with `/bin/sh -c`;
//! otherwise `value` is the program and `arguments` its whole argv, `arguments[0]` included
//! (Mesos's `execvp(value, arguments)`).

use crate::mesos::task::CommandInfo;
use std::os::unix::process::CommandExt;

/// The program and argv of `command`; where, with what environment and output is the caller's.
pub fn command_line(command: &CommandInfo) -> std::process::Command {
    let value = command.value.clone().unwrap_or_default();
    if command.shell {
        let mut c = std::process::Command::new("/bin/sh");
        c.arg("-c").arg(&value);
        c
    } else {
        let mut c = std::process::Command::new(&value);
        if let Some((argv0, rest)) = command.arguments.split_first() {
            c.arg0(argv0).args(rest);
        }
        c
    }
}
