//! Transfer progress (the demo's image push): on stderr, never stdout. On a terminal an
//! indicatif bar redraws one line in place; anywhere else (a pipe, a log file, CI) nothing is
//! drawn while the bytes go and one final line says how far the transfer got, so a log never
//! collects carriage-returned fragments.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Transfer {
    /// `pushed`: the word of the final line.
    done_word: &'static str,
    /// On a terminal: the bar, drawn on stderr.
    bar: Option<ProgressBar>,
    done: u64,
    total: u64,
}

impl Transfer {
    /// `doing` names the transfer while it runs (`pushing`), `done_word` once it is over.
    pub fn new(doing: &'static str, done_word: &'static str) -> Transfer {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("    {msg} {pos}/{len} bytes {wide_bar}")
                    .expect("a valid template"),
            );
            bar.set_message(doing);
            bar
        });
        Transfer {
            done_word,
            bar,
            done: 0,
            total: 0,
        }
    }

    /// `done` of `total` bytes have gone.
    pub fn update(&mut self, done: u64, total: u64) {
        (self.done, self.total) = (done, total);
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    /// The final line: the bar's last state on a terminal, one line otherwise.
    pub fn finish(self) {
        match self.bar {
            Some(bar) => {
                bar.set_style(
                    ProgressStyle::with_template("    {msg} {pos}/{len} bytes")
                        .expect("a valid template"),
                );
                bar.finish_with_message(self.done_word);
                // indicatif leaves the cursor on the bar's line: end it, so that what follows
                // (on stdout or stderr) starts on a line of its own.
                let _ = writeln!(std::io::stderr());
            }
            None => {
                let _ = writeln!(
                    std::io::stderr(),
                    "    {} {}/{} bytes",
                    self.done_word,
                    self.done,
                    self.total
                );
            }
        }
    }
}
