# Argonaut Bash bootstrap: makes the Octopus (Calamari) helper functions available, then sources the
# user's script in this same shell, so that `exit`, traps and `$0` behave as if the script ran alone.
# Invoked as: bash -c "<this text>" <script path> <variables file> <text of helpers.sh>
#
# A plain `echo hello` must cost no more than bash itself: nothing here starts a process, and the real
# helpers (about 0.3 ms of parsing) are only defined when one of them is first called.
# Variables file format, one variable per line: base64 of the UTF-8 value, a space, the name.

__argonaut_variables_file=$1 __argonaut_helpers=$2
set --

__argonaut_load() { eval "$__argonaut_helpers"; }
get_octopusvariable() { __argonaut_load; __argonaut_get_octopusvariable "$@"; }
set_octopusvariable() { __argonaut_load; __argonaut_set_octopusvariable "$@"; }
new_octopusartifact() { __argonaut_load; __argonaut_new_octopusartifact "$@"; }
fail_step() { __argonaut_load; __argonaut_fail_step "$@"; }
update_progress() { __argonaut_load; __argonaut_update_progress "$@"; }
encode_servicemessagevalue() { __argonaut_load; __argonaut_encode "$@"; }
decode_servicemessagevalue() { __argonaut_load; __argonaut_decode "$@"; }
write_verbose() { printf '##octopus[stdout-verbose]\n%s\n##octopus[stdout-default]\n' "$*"; }
write_highlight() { printf '##octopus[stdout-highlight]\n%s\n##octopus[stdout-default]\n' "$*"; }
write_wait() { printf '##octopus[stdout-wait]\n%s\n##octopus[stdout-default]\n' "$*"; }
write_warning() { printf '##octopus[stdout-warning]\n%s\n##octopus[stdout-default]\n' "$*"; }

. "$0"
