# Argonaut Bash helpers: the implementations behind the Octopus (Calamari) functions that bootstrap.sh
# declares. bootstrap.sh receives this text as $2 and evaluates it on the first call of any of them, so
# a script that uses none pays nothing for parsing it. Only __argonaut_* names are defined here, so a
# script that redefines a public helper keeps its own version.

__argonaut_encode() {
    # Service-message values are bare base64 without a line break; openssl is the fallback where
    # base64 lacks -w0 (BSD/macOS).
    local encoded
    if encoded=$(printf '%s' "${1-}" | base64 -w0 2>/dev/null); then
        printf '%s' "$encoded"
    else
        printf '%s' "${1-}" | openssl enc -base64 -A
    fi
}

__argonaut_decode() {
    local decoded
    # The trailing x keeps the value's trailing newlines, which command substitution would strip.
    if decoded=$(printf '%s' "${1-}" | base64 -d 2>/dev/null && printf x); then
        printf '%s' "${decoded%x}"
    else
        printf '%s' "${1-}" | openssl enc -base64 -A -d
    fi
}

__argonaut_get_octopusvariable() {
    # Names are case-insensitive, as in substitution. A value is printed as it is; an unknown name prints
    # an empty line and succeeds, as Calamari's `echo ""` does, so $(get_octopusvariable X) is empty.
    local wanted=${1-} line restore_nocasematch=
    [[ -r $__argonaut_variables_file ]] || { printf '\n'; return 0; }
    if ! shopt -q nocasematch; then
        restore_nocasematch=1
        shopt -s nocasematch
    fi
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ ${line#* } == "$wanted" ]]; then
            if [[ -n $restore_nocasematch ]]; then shopt -u nocasematch; fi
            __argonaut_decode "${line%% *}"
            return 0
        fi
    done <"$__argonaut_variables_file"
    if [[ -n $restore_nocasematch ]]; then shopt -u nocasematch; fi
    printf '\n'
    return 0
}

__argonaut_set_octopusvariable() {
    local name=${1-} encoded_value sensitive=
    if [[ -z $name ]]; then
        printf 'set_octopusvariable: a variable name is required\n' >&2
        return 1
    fi
    encoded_value=$(__argonaut_encode "${2-}")
    if [[ ${3-} == -sensitive ]]; then
        sensitive=" sensitive='VHJ1ZQ=='"
        # Also on stderr: the two pipes are read independently, and a secret the script writes to
        # stderr next must not overtake the stdout message that registers it for masking.
        printf "##octopus[mask value='%s']\n" "$encoded_value" >&2
    fi
    printf "##octopus[setVariable name='%s' value='%s'%s]\n" "$(__argonaut_encode "$name")" "$encoded_value" "$sensitive"
}

__argonaut_new_octopusartifact() {
    local path=${1-} name=${2-} length=0
    if [[ -z $path ]]; then
        printf 'new_octopusartifact: a file path is required\n' >&2
        return 1
    fi
    # Absolute, because the script may change directory before the runner collects the file.
    if [[ $path != /* ]]; then path=$PWD/$path; fi
    if [[ -z $name ]]; then name=${path##*/}; fi
    if [[ -f $path ]]; then
        length=$(wc -c <"$path")
        length=${length//[!0-9]/}
    fi
    printf '##octopus[stdout-verbose]\nArtifact %s will be collected from %s after this step completes\n##octopus[stdout-default]\n' "$name" "$path"
    printf "##octopus[createArtifact path='%s' name='%s' length='%s']\n" \
        "$(__argonaut_encode "$path")" "$(__argonaut_encode "$name")" "$(__argonaut_encode "$length")"
}

__argonaut_fail_step() {
    if [[ -n ${1-} ]]; then
        printf "##octopus[resultMessage message='%s']\n" "$(__argonaut_encode "$1")"
    fi
    exit 1
}

__argonaut_update_progress() {
    printf "##octopus[progress percentage='%s' message='%s']\n" "$(__argonaut_encode "${1-}")" "$(__argonaut_encode "${2-}")"
}

# Loaded: later calls need not evaluate this text again.
__argonaut_load() { :; }
