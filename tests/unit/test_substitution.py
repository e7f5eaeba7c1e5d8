"""``#{...}`` substitution follows Octostache where scripts depend on it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from argonaut.domain.substitution import evaluate_condition, is_truthy, substitute

VARIABLES = {
    "Name": "World",
    "Greeting": "Hello",
    "Padded": "  spaced out  ",
    "StepName": "Deploy web",
    "Octopus.Action[Deploy web].Output.Url": "https://web.example",
    "My Variable": "with spaces",
    "Nested": "#{Greeting}, #{Name}",
    "Loop.A": "#{Loop.B}",
    "Loop.B": "#{Loop.A}",
    "Self": "#{Self}",
    "Escaped": "##{Name}",
    "Empty": "",
    "Unicode": "Grüße ✓",
}

CASES = [
    ("plain text", "echo hello", "echo hello"),
    ("simple reference", "echo #{Name}", "echo World"),
    ("names are case-insensitive", "#{name} #{NAME} #{nAmE}", "World World World"),
    ("whitespace inside the braces", "#{ Name }", "World"),
    ("several references", "#{Greeting}, #{Name}!", "Hello, World!"),
    ("ToLower", "#{Name | ToLower}", "world"),
    ("ToUpper", "#{Name | ToUpper}", "WORLD"),
    ("Trim", "[#{Padded | Trim}]", "[spaced out]"),
    ("filter names are case-insensitive", "#{Name|toupper}", "WORLD"),
    ("chained filters", "#{Padded | Trim | ToUpper}", "SPACED OUT"),
    ("unknown filter leaves the reference", "#{Name | Reverse}", "#{Name | Reverse}"),
    ("unknown variable left verbatim", "echo #{Missing}", "echo #{Missing}"),
    ("unknown variable with a filter left verbatim", "#{Missing | ToUpper}", "#{Missing | ToUpper}"),
    ("escape", "##{Name}", "#{Name}"),
    ("escape next to a reference", "##{Name} is #{Name}", "#{Name} is World"),
    ("triple hash", "###{Name}", "##{Name}"),
    ("brackets in the name", "#{Octopus.Action[Deploy web].Output.Url}", "https://web.example"),
    ("brackets, other case", "#{octopus.action[deploy WEB].output.url}", "https://web.example"),
    ("reference inside an index", "#{Octopus.Action[#{StepName}].Output.Url}", "https://web.example"),
    ("unresolvable index", "#{Octopus.Action[#{Nope}].Output.Url}", "#{Octopus.Action[#{Nope}].Output.Url}"),
    ("spaces in the name", "#{My Variable}", "with spaces"),
    ("values are expanded too", "#{Nested}", "Hello, World"),
    ("cycles stay verbatim", "#{Loop.A}", "#{Loop.A}"),
    ("self reference stays verbatim", "#{Self}", "#{Self}"),
    ("an escape in a value", "#{Escaped}", "#{Name}"),
    ("empty value", "[#{Empty}]", "[]"),
    ("unicode value", "#{Unicode}", "Grüße ✓"),
    ("unterminated", "echo #{Name", "echo #{Name"),
    ("unterminated then a good one", "#{oops #{Name}", "#{oops World"),
    ("empty expression", "#{}", "#{}"),
    ("bash parameter length is untouched", 'echo "${#array[@]} #{Name}"', 'echo "${#array[@]} World"'),
    ("bash brace groups are untouched", "{ echo a; } #{Name}", "{ echo a; } World"),
    ("stray braces", "#{a{b} #{Name}", "#{a{b} World"),
    ("conditionals are supported", "#{if Name}yes#{/if}", "yes"),
]


@pytest.mark.parametrize(("case", "template", "expected"), CASES, ids=[row[0] for row in CASES])
def test_substitute(case: str, template: str, expected: str) -> None:
    assert substitute(template, VARIABLES) == expected


LATER_WINS = [
    ("same name, different case: the later value", {"Name": "first", "NAME": "second"}, "#{name}", "second"),
    ("no variables at all", {}, "#{Name}", "#{Name}"),
]


@pytest.mark.parametrize(
    ("case", "variables", "template", "expected"), LATER_WINS, ids=[row[0] for row in LATER_WINS]
)
def test_variable_sets(case: str, variables: dict[str, str], template: str, expected: str) -> None:
    assert substitute(template, variables) == expected


# ---------------------------------------------------------------------------------------------------------
# Filters. Expected values are Octostache's own (FiltersFixture) where it has them.

FILTER_VARIABLES = {
    "Foo": "Abc",
    "Text": "Octopus Deploy",
    "Padded": " Octopus Deploy ",
    "Lines": "one\ntwo\nthree",
    "Empty": "",
    "Markup": "A&'b<c>/\"d",
    "Json": 'Test"Te\\st\r\n\tx',
    "Uri": "A b:c+d/e",
    "Encoded": "Rm9vIEJhcg==",
    "Garbage": "not base64!",
    "Quick": "The quick brown fox jumps over the lazy dog",
    "QuickBase64": "VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZw==",
    "Regex": "b",
    "Replacement": "x",
    "Quote": 'a"b',
    "QuoteRegex": 'a"',
    "QuoteReplacement": '"c',
    "Octopus": "opuocts",
    "Cash": "23.4",
    "Big": "1234567.891",
    "Negative": "-5.5",
    "Count": "42",
    "Date": "2030-05-22 09:05:00",
    "SlashDate": "2030/05/22 09:05:00",
    "OffsetDate": "2030-05-22T09:05:00+02:00",
    "UtcDate": "2030-05-22T09:05:00Z",
    "DateFormat": "HH dd-MMM-yyyy",
    "Hours": "8",
    "Yaml": "it's\na\n\tb",
    "Chinese": "我叫章鱼",
}

FILTER_CASES = [
    ("ToLower refuses arguments", "#{Foo | ToLower x}", "#{Foo | ToLower x}"),
    ("ToBase64", "#{Text | ToBase64}", "T2N0b3B1cyBEZXBsb3k="),
    ("ToBase64 unicode", "#{Foo | ToBase64 unicode}", "QQBiAGMA"),
    ("ToBase64 unknown encoding", "#{Foo | ToBase64 latin1}", "#{Foo | ToBase64 latin1}"),
    ("FromBase64", "#{Encoded | FromBase64}", "Foo Bar"),
    ("FromBase64 round trip unicode", "#{Foo | ToBase64 unicode | FromBase64 unicode}", "Abc"),
    ("FromBase64 of garbage", "#{Garbage | FromBase64}", "#{Garbage | FromBase64}"),
    ("HtmlEscape", "#{Markup | HtmlEscape}", "A&amp;&apos;b&lt;c&gt;&#x2F;&quot;d"),
    ("XmlEscape", "#{Markup | XmlEscape}", "A&amp;&apos;b&lt;c&gt;/&quot;d"),
    ("JsonEscape", "#{Json | JsonEscape}", 'Test\\"Te\\\\st\\r\\n\\tx'),
    ("UriEscape keeps reserved characters", "#{Uri | UriEscape}", "A%20b:c+d/e"),
    ("UriDataEscape escapes them", "#{Uri | UriDataEscape}", "A%20b%3Ac%2Bd%2Fe"),
    ("YamlSingleQuoteEscape", "#{Yaml | YamlSingleQuoteEscape}", "it''s\n\na\n\n\tb"),
    ("YamlDoubleQuoteEscape", "#{Yaml | YamlDoubleQuoteEscape}", "it's\\na\\n\\tb"),
    ("YamlDoubleQuoteEscape non-ASCII", "#{Chinese | YamlDoubleQuoteEscape}", "\\u6211\\u53eb\\u7ae0\\u9c7c"),
    ("PropertiesKeyEscape", "#{Padded | PropertiesKeyEscape}", "\\ Octopus\\ Deploy\\ "),
    ("PropertiesValueEscape", "#{Padded | PropertiesValueEscape}", "\\ Octopus Deploy "),
    ("Trim", "[#{Padded | Trim}]", "[Octopus Deploy]"),
    ("Trim start", "[#{Padded | Trim start}]", "[Octopus Deploy ]"),
    ("Trim End, any case", "[#{Padded | Trim End}]", "[ Octopus Deploy]"),
    ("Trim with a bad side", "#{Padded | Trim Both}", "#{Padded | Trim Both}"),
    ("Replace with a regex", '#{Text | Replace "[a-z]+" x}', "Ox Dx"),
    ("Replace with nothing", "#{Foo | Replace b}", "Ac"),
    ("Replace is case-sensitive", "#{Foo | Replace abc def}", "Abc"),
    ("Replace without a pattern", "#{Foo | Replace}", "#{Foo | Replace}"),
    ("Replace with quoted spaces", '#{Text | Replace "s D" "s, d"}', "Octopus, deploy"),
    ("Replace with references", "#{Foo | Replace #{Regex}#{Replacement}}", "Axc"),
    ("Replace with quotes from references", "#{Quote | Replace #{QuoteRegex} #{QuoteReplacement}}", '"cb'),
    ("Replace with .NET group references", '#{Octopus | Replace "o(.+)o([a-z]*)s" "o$2o$1s"}', "octopus"),
    ("Replace with a named group", '#{Text | Replace "(?<w>[A-Z])" "<${w}>"}', "<O>ctopus <D>eploy"),
    ("Replace with $$ and $&", '#{Foo | Replace "b" "$$$&"}', "A$bc"),
    ("Replace with an escaped paren", '#{Text | Replace "s\\s" "s_"}', "Octopus_Deploy"),
    ("Replace with a bad regex", '#{Foo | Replace "("}', '#{Foo | Replace "("}'),
    ("Replace keeps braces in quotes", '#{Foo | Replace "b" "}{"}', "A}{c"),
    ("Match", '#{Text | Match "D.p"}', "true"),
    ("Match is case-sensitive", "#{Text | Match octopus}", "false"),
    ("Match without a pattern", "#{Text | Match}", "#{Text | Match}"),
    ("Match with two patterns", "#{Text | Match a b}", "#{Text | Match a b}"),
    ("StartsWith", "#{Text | StartsWith Octo}", "true"),
    ("StartsWith is case-sensitive", "#{Text | StartsWith octo}", "false"),
    ("EndsWith with quotes", '#{Text | EndsWith "s Deploy"}', "true"),
    ("Contains", "#{Text | Contains pus}", "true"),
    ("Contains, not", "#{Text | Contains xyz}", "false"),
    ("Contains needs one argument", "#{Text | Contains}", "#{Text | Contains}"),
    ("Substring length", "#{Text | Substring 7}", "Octopus"),
    ("Substring start and length", "#{Text | Substring 8 6}", "Deploy"),
    ("Substring past the end is clipped", "#{Text | Substring 8 50}", "Deploy"),
    ("Substring longer than the text", "#{Text | Substring 20}", "Octopus Deploy"),
    ("Substring at the very end", "[#{Text | Substring 14 5}]", "[]"),
    ("Substring starting after the end", "#{Text | Substring 20 5}", "#{Text | Substring 20 5}"),
    ("Substring negative", "#{Text | Substring -1}", "#{Text | Substring -1}"),
    ("Substring not a number", "#{Text | Substring a}", "#{Text | Substring a}"),
    ("Substring too many arguments", "#{Text | Substring 1 2 3}", "#{Text | Substring 1 2 3}"),
    ("Truncate appends an ellipsis", "#{Text | Truncate 7}", "Octopus..."),
    ("Truncate with a suffix", '#{Text | Truncate 7 "<|>"}', "Octopus<|>"),
    ("Truncate with an empty suffix", '#{Text | Truncate 7 ""}', "Octopus"),
    ("Truncate longer than the text", "#{Text | Truncate 50}", "Octopus Deploy"),
    ("Truncate negative", "#{Text | Truncate -1}", "#{Text | Truncate -1}"),
    ("Truncate without a length", "#{Text | Truncate}", "#{Text | Truncate}"),
    ("Append", "#{Foo | Append def}", "Abcdef"),
    ("Append several, quoted", '#{Foo | Append " " x}', "Abc x"),
    ("Append to nothing", "#{ | Append foo}", "foo"),
    ("Append with references", '#{Foo | Append " " #{Count} " "}', "Abc 42 "),
    ("Append without arguments", "#{Foo | Append}", "#{Foo | Append}"),
    ("Prepend", '#{Foo | Prepend "> "}', "> Abc"),
    ("Indent by default 4 spaces", "#{Lines | Indent}", "    one\n    two\n    three"),
    ("Indent by 2", "#{Lines | Indent 2}", "  one\n  two\n  three"),
    ("Indent all but the first line", "#{Lines | Indent /3}", "one\n   two\n   three"),
    ("Indent with text", "#{Lines | Indent //}", "//one\n//two\n//three"),
    ("Indent first and others", '#{Lines | Indent "/* " " * "}', "/* one\n * two\n * three"),
    ("Indent of nothing", "[#{Empty | Indent}]", "[]"),
    ("MD5", "#{Quick | MD5}", "9e107d9d372bb6826bd81d3542a419d6"),
    ("MD5 of empty", "#{Empty | Md5}", "d41d8cd98f00b204e9800998ecf8427e"),
    ("MD5 truncated to 3 bytes", "#{Quick | Md5 3}", "9e107d"),
    ("MD5 of UTF-16 text", "#{Quick | Md5 unicode}", "b0986ae6ee1eefee8a4a399090126837"),
    ("MD5 of base64 bytes", "#{QuickBase64 | Md5 base64}", "9e107d9d372bb6826bd81d3542a419d6"),
    ("MD5 with size and encoding", "#{Quick | Md5 utf8 2}", "9e10"),
    ("MD5 with a zero size", "#{Quick | Md5 0}", "#{Quick | Md5 0}"),
    ("MD5 of text that is not base64", "#{Foo | Md5 base64}", "#{Foo | Md5 base64}"),
    ("SHA1", "#{Quick | SHA1}", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
    ("SHA256", "#{Quick | Sha256}", "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"),
    (
        "SHA256 of empty",
        "#{Empty | Sha256}",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ),
    (
        "a digest size beyond the digest is the whole digest",
        "#{Quick | Md5 800}",
        "9e107d9d372bb6826bd81d3542a419d6",
    ),
    ("Format number N2", "#{Cash | Format N2}", "23.40"),
    ("Format number N with grouping", "#{Big | Format N1}", "1,234,567.9"),
    ("Format number custom", "#{Cash | Format 0.000}", "23.400"),
    ("Format number custom optional digits", '#{Big | Format "#,##0.##"}', "1,234,567.89"),
    ("Format number rounds half away from zero", "#{Negative | Format 0}", "-6"),
    ("Format number sections", '#{Negative | Format "0.0;(0.0)"}', "(5.5)"),
    ("Format number percent", "#{Cash | Format 0%}", "2340%"),
    ("Format number zero padding", "#{Count | Format 0000}", "0042"),
    ("Format Int32 D5", "#{Count | Format Int32 D5}", "00042"),
    ("Format Int X", "#{Count | Format Int X}", "2A"),
    ("Format Double F1", "#{Cash | Format Double F1}", "23.4"),
    ("Format D needs an integer type", "#{Count | Format D5}", "#{Count | Format D5}"),
    ("Format currency is not supported", "#{Cash | Format C}", "#{Cash | Format C}"),
    ("Format date", "#{Date | Format yyyy-MM-dd}", "2030-05-22"),
    (
        "Format date with month names",
        '#{Date | Format "dddd d MMMM yy, h:mm tt"}',
        "Wednesday 22 May 30, 9:05 AM",
    ),
    ("Format Date with a slash date", '#{SlashDate | Format Date "HH dd-MMM-yyy"}', "09 22-May-2030"),
    (
        "Format DateTime with escaped quotes",
        '#{SlashDate | Format DateTime \\"HH dd-MMM-yyyy\\" }',
        "09 22-May-2030",
    ),
    ("Format with a referenced format", "#{SlashDate | Format Date #{DateFormat}}", "09 22-May-2030"),
    ("Format year only", "#{ Date | Format yyyy}", "2030"),
    ("Format standard s", "#{OffsetDate | Format s}", "2030-05-22T09:05:00"),
    ("Format standard u is in UTC", "#{OffsetDate | Format u}", "2030-05-22 07:05:00Z"),
    ("Format round trip keeps the offset", "#{OffsetDate | Format o}", "2030-05-22T09:05:00.0000000+02:00"),
    ("Format offset", "#{OffsetDate | Format DateTimeOffset zzz}", "+02:00"),
    ("Format literal text", "#{Date | Format \"'Day' d\"}", "Day 22"),
    ("Format of text that is neither", "#{Text | Format yyyy}", "#{Text | Format yyyy}"),
    ("Format with an unknown type", "#{Count | Format Money 0}", "#{Count | Format Money 0}"),
    ("AddHours", '#{Date | AddHours 2 | Format "yyyy-MM-dd HH:mm:ss"}', "2030-05-22 11:05:00"),
    ("AddHours fractional", '#{Date | AddHours "1.5" | Format "HH:mm"}', "10:35"),
    ("AddHours negative", '#{Date | AddHours -2 | Format "HH:mm"}', "07:05"),
    (
        "AddHours by reference, round-trip output",
        "#{Date | AddHours #{Hours}}",
        "2030-05-22T17:05:00.0000000",
    ),
    ("AddHours keeps an offset", "#{OffsetDate | AddHours 2}", "2030-05-22T11:05:00.0000000+02:00"),
    ("AddHours keeps Z", "#{UtcDate | AddHours 1}", "2030-05-22T10:05:00.0000000Z"),
    ("AddDays rolls over the month", '#{Date | AddDays 10 | Format "yyyy-MM-dd"}', "2030-06-01"),
    (
        "AddDays then AddHours",
        '#{Date | AddDays 1 | AddHours 2 | Format "yyyy-MM-dd HH:mm"}',
        "2030-05-23 11:05",
    ),
    ("AddHours without an amount", "#{Date | AddHours}", "#{Date | AddHours}"),
    ("AddHours of text", "#{Text | AddHours 2}", "#{Text | AddHours 2}"),
    ("AddHours to nothing", "#{ | AddHours 2}", "#{ | AddHours 2}"),
    ("NowDate without a clock", "#{ | NowDate}", "#{ | NowDate}"),
    (
        "a refusing filter mid-chain keeps the token",
        "#{Text | Substring -1 | ToUpper}",
        "#{Text | Substring -1 | ToUpper}",
    ),
    ("an unresolved argument keeps the token", "#{Foo | Append #{Missing}}", "#{Foo | Append #{Missing}}"),
    ("an unterminated quote keeps the token", '#{Foo | Append "x}', '#{Foo | Append "x}'),
    ("a pipe inside quotes is an argument", '#{Foo | Append "|"}', "Abc|"),
]


@pytest.mark.parametrize(("case", "template", "expected"), FILTER_CASES, ids=[row[0] for row in FILTER_CASES])
def test_filters(case: str, template: str, expected: str) -> None:
    assert substitute(template, FILTER_VARIABLES) == expected


# ---------------------------------------------------------------------------------------------------------
# Conditionals

CONDITION_VARIABLES = {
    "Truthy": "true",
    "Falsy": "False",
    "Zero": "0",
    "No": " NO ",
    "Spaces": "  ",
    "Empty": "",
    "Environment": "Production",
    "Octopus": "octopus",
    "Compare": "octopus",
    "Other": "something else",
    "Result": "result",
    "StepName": "Deploy web",
    "Octopus.Action[Deploy web].Status": "Skipped",
}

CONDITIONAL_CASES = [
    ("if true", "#{if Truthy}yes#{/if}", "yes"),
    ("if false", "[#{if Falsy}yes#{/if}]", "[]"),
    ("if with else", "#{if Falsy}yes#{else}no#{/if}", "no"),
    ('"0" is false', "#{if Zero}yes#{else}no#{/if}", "no"),
    ("no, trimmed and in any case, is false", "#{if No}yes#{else}no#{/if}", "no"),
    ("whitespace alone is true", "#{if Spaces}yes#{else}no#{/if}", "yes"),
    ("empty is false", "#{if Empty}yes#{else}no#{/if}", "no"),
    ("undefined is false", "#{if Missing}yes#{else}no#{/if}", "no"),
    ("any other text is true", "#{if Environment}yes#{/if}", "yes"),
    ("spaces around the keyword and name", "#{ if  Truthy }#{Result}#{/if}", "result"),
    ("keywords are case-insensitive", "#{IF Truthy}yes#{/if}", "yes"),
    ("equals a string", '#{if Environment == "Production"}prod#{/if}', "prod"),
    ("equals is case-sensitive", '#{if Environment == "production"}prod#{else}other#{/if}', "other"),
    ("string on the left", '#{if "octopus" == Octopus}yes#{/if}', "yes"),
    ("not equal", '#{if Octopus != "software"}yes#{/if}', "yes"),
    ("not equal, string on the left", '#{if "software" != Other}yes#{/if}', "yes"),
    ("variable equals variable", "#{if Octopus == Compare}same#{/if}", "same"),
    ("variable differs from variable", "#{if Octopus != Environment}differ#{/if}", "differ"),
    ("two unknowns are equal (both empty)", "#{if Unknown1 == Unknown2}Equal#{/if}", "Equal"),
    ("unknown against a string", '#{if Missing == ""}empty#{/if}', "empty"),
    ("no spaces around ==", '#{if Octopus=="octopus"}yes#{/if}', "yes"),
    ("escaped quotes", '#{if Other == \\"something else\\"}yes#{/if}', "yes"),
    ("filters in a condition", '#{if Octopus | ToUpper == "OCTOPUS"}yes#{/if}', "yes"),
    ("a filter as the test", "#{if Environment | StartsWith Prod}yes#{/if}", "yes"),
    (
        "a refused filter keeps the whole block",
        "#{if Missing | ToUpper}yes#{/if}",
        "#{if Missing | ToUpper}yes#{/if}",
    ),
    (
        "reference in an index",
        '#{if Octopus.Action[#{StepName}].Status == "Skipped"}skipped#{/if}',
        "skipped",
    ),
    ("elseif chosen", "#{if Falsy}1#{elseif Truthy}2#{else}3#{/if}", "2"),
    ("first true wins", "#{if Truthy}1#{elseif Truthy}2#{/if}", "1"),
    ("else after elseif", "#{if Falsy}1#{elseif Zero}2#{else}3#{/if}", "3"),
    ("elseif with nothing true", "[#{if Falsy}1#{elseif Zero}2#{/if}]", "[]"),
    ("elseif with a comparison", '#{if Falsy}1#{elseif Environment == "Production"}2#{/if}', "2"),
    ("unless", "#{unless Falsy}shown#{/unless}", "shown"),
    ("unless undefined", "#{unless Missing}shown#{/unless}", "shown"),
    ("unless true", "[#{unless Truthy}shown#{/unless}]", "[]"),
    ("unless with else", "#{unless Truthy}a#{else}b#{/unless}", "b"),
    ("unless has no elseif", "#{unless Falsy}a#{elseif x}b#{/unless}", "a#{elseif x}b"),
    ("nested if", '#{if Truthy}#{if Octopus == "octopus"}#{Result}#{/if}#{/if}', "result"),
    ("nested if in else", "#{if Falsy}a#{else}#{if Truthy}b#{else}c#{/if}#{/if}", "b"),
    ("nested if in elseif", "#{if Falsy}a#{elseif Truthy}#{if Zero}b#{else}c#{/if}#{else}d#{/if}", "c"),
    ("unless inside if", "#{if Truthy}#{unless Falsy}x#{/unless}#{/if}", "x"),
    ("escape inside a block", "#{if Truthy}##{Result} is #{Result}#{/if}", "#{Result} is result"),
    ("unknown token inside a block", "#{if Truthy}#{Missing}#{/if}", "#{Missing}"),
    ("blocks on several lines", "#{if Truthy}\nline\n#{/if}\n", "\nline\n\n"),
    ("unclosed if stays as written", "#{if Truthy}yes #{Result}", "#{if Truthy}yes result"),
    ("mismatched closer", "#{if Truthy}yes#{/each}", "#{if Truthy}yes#{/each}"),
    ("stray closer", "done#{/if}", "done#{/if}"),
    ("stray else is an unknown variable", "a#{else}b", "a#{else}b"),
    ("if without a condition is a variable name", "#{if}", "#{if}"),
    ("a Ruby interpolation is left alone", 'puts "#{if x then 1 end}"', 'puts "#{if x then 1 end}"'),
]


@pytest.mark.parametrize(
    ("case", "template", "expected"), CONDITIONAL_CASES, ids=[row[0] for row in CONDITIONAL_CASES]
)
def test_conditionals(case: str, template: str, expected: str) -> None:
    assert substitute(template, CONDITION_VARIABLES) == expected


# ---------------------------------------------------------------------------------------------------------
# Loops

LOOP_VARIABLES = {
    "Octopus.Action[Package A].Name": "A",
    "Octopus.Action[Package A].TargetRoles": "web,app",
    "Octopus.Action[Package B].Name": "B",
    "Octopus.Action[Package B].TargetRoles": "db",
    "Octopus.Action[].Name": "Blank",
    "Octopus.Action[].TargetRoles": "y",
    "octopus.action[package a].Extra": "later, other case",
    "Servers[web-1]": "10.0.0.1",
    "Servers[web-1].Port": "80",
    "Servers[web-2].Port": "8080",
    "Package[container[0]].Name": "first",
    "Package[container[1]].Name": "second",
    "Numbers": "A,B,C",
    "Spaced": "a, b",
    "Single": "only",
    "Empty": "",
    "Primes": "[2,3,5,8]",
    "Sizes": '{"Small": "11.5", "Large": 15.21}',
    "Stock": '{"X-Large": {"Error": "Not Stocked"}}',
    "People": '[{"Name": "Ann", "Admin": true}, {"Name": "Bob", "Admin": false}]',
    "Nested": '[{"Roles": ["a", "b"]}, {"Roles": ["c"]}]',
    "Blah": '{"Blah": null}',
    "PrimesRef": "#{Primes}",
    "Greeting": "Hi #{i}",
    "Step 1": "Deployed",
    "Octopus.Step[Step 1].Status": "Skipped",
    "Octopus.Step[Step 2].Status": "Running",
    "Octopus.Step[Step 1].Details": "Step 1 Details",
    "Octopus.Step[Step 2].Details": "Step 2 Details",
    "Steps[Action 1].StepName": "Step 1",
    "Steps[Action 2].StepName": "Step 2",
}

LOOP_CASES = [
    (
        "indexed children in first-seen order",
        "#{each a in Octopus.Action}#{a}-#{a.Name};#{/each}",
        "Package A-A;Package B-B;-Blank;",
    ),
    (
        "spaces around each's parts",
        "#{ each  a  in  Octopus.Action }#{ a }|#{/each}",
        "Package A|Package B||",
    ),
    ("member names are case-insensitive", "#{each a in octopus.ACTION}#{a.name}#{/each}", "ABBlank"),
    (
        "later variables in other case join the same child",
        "#{each a in Octopus.Action}#{a.Extra}|#{/each}",
        ("later, other case|#{a.Extra}|#{a.Extra}|"),
    ),
    (
        "a child with its own value prints it",
        "#{each s in Servers}#{s}:#{s.Port} #{/each}",
        "10.0.0.1:80 web-2:8080 ",
    ),
    (
        "indexes holding brackets",
        "#{each p in Package}#{p}=#{p.Name} #{/each}",
        "container[0]=first container[1]=second ",
    ),
    (
        "nested loops",
        "#{each a in Octopus.Action}#{each r in a.TargetRoles}#{a.Name}:#{r} #{/each}#{/each}",
        "A:web A:app B:db Blank:y ",
    ),
    ("comma-separated", "#{each n in Numbers}<#{n}>#{/each}", "<A><B><C>"),
    ("comma-separated parts are not trimmed", "#{each n in Spaced}<#{n}>#{/each}", "<a>< b>"),
    ("a single value", "#{each n in Single}<#{n}>#{/each}", "<only>"),
    ("an empty value", "Ok#{each n in Empty}<#{n}>#{/each}", "Ok"),
    ("an unknown collection", "Ok#{each n in Missing}<#{n}>#{/each}", "Ok"),
    (
        "specials",
        "#{each n in Numbers}#{n}:#{Octopus.Template.Each.Index}:#{Octopus.Template.Each.First}:"
        "#{Octopus.Template.Each.Last} #{/each}",
        "A:0:True:False B:1:False:False C:2:False:True ",
    ),
    (
        "specials describe the innermost loop",
        "#{each a in Numbers}#{each b in Single}#{Octopus.Template.Each.Index}#{/each}#{/each}",
        "000",
    ),
    (
        "specials outside a loop are unknown",
        "#{Octopus.Template.Each.Index}",
        "#{Octopus.Template.Each.Index}",
    ),
    (
        "JSON array",
        '#{each p in Primes}#{p}#{if Octopus.Template.Each.Last == "False"}-#{/if}#{/each}',
        "2-3-5-8",
    ),
    ("JSON array from a reference", "#{each p in PrimesRef}#{p}#{/each}", "2358"),
    ("JSON object", "#{each s in Sizes}#{s}:#{s.Value},#{/each}", "Small:11.5,Large:15.21,"),
    (
        "JSON object Key and Value",
        "#{each s in Sizes}#{s.Key}=#{s.Value} #{/each}",
        "Small=11.5 Large=15.21 ",
    ),
    (
        "JSON object inner selection",
        "#{each s in Stock}#{s.Key} - #{s.Value.Error}#{/each}",
        "X-Large - Not Stocked",
    ),
    (
        "JSON array of objects",
        "#{each p in People}#{p.Name}#{if p.Admin} (admin)#{/if};#{/each}",
        "Ann (admin);Bob;",
    ),
    (
        "JSON item printed whole",
        "#{each p in People}#{p}|#{/each}",
        '{"Name":"Ann","Admin":true}|{"Name":"Bob","Admin":false}|',
    ),
    ("JSON nested collection", "#{each n in Nested}#{each r in n.Roles}#{r}#{/each};#{/each}", "ab;c;"),
    ("JSON null collection", "Before:#{each n in Blah.Blah}#{n}#{/each}:After", "Before::After"),
    ("the loop variable shadows a global", "#{each Numbers in Single}#{Numbers}#{/each}", "only"),
    (
        "an unknown member stays as written",
        "#{each n in Numbers}#{n.Nope}#{/each}",
        "#{n.Nope}#{n.Nope}#{n.Nope}",
    ),
    ("values see the loop variable", "#{each i in Numbers}#{Greeting};#{/each}", "Hi A;Hi B;Hi C;"),
    ("the item as an index", '#{each s in Numbers}#{if s == "B"}[#{s}]#{else}#{s}#{/if}#{/each}', "A[B]C"),
    (
        "nested if inside each with a reference index",
        '#{each action in Steps}#{if Octopus.Step[#{action.StepName}].Status != "Skipped"}'
        "#{Octopus.Step[#{action.StepName}].Details}#{/if}#{/each}",
        "Step 2 Details",
    ),
    (
        "the item as a variable name",
        "#{each s in Steps}#{#{s.StepName}}|#{/each}",
        "Deployed|#{#{s.StepName}}|",
    ),
    ("escape inside a loop", "#{each n in Single}##{n}=#{n}#{/each}", "#{n}=only"),
    ("unclosed each stays as written", "#{each n in Numbers}#{n}", "#{each n in Numbers}#{n}"),
    ("each without 'in' is a variable name", "#{each n}", "#{each n}"),
]


@pytest.mark.parametrize(("case", "template", "expected"), LOOP_CASES, ids=[row[0] for row in LOOP_CASES])
def test_loops(case: str, template: str, expected: str) -> None:
    assert substitute(template, LOOP_VARIABLES) == expected


# ---------------------------------------------------------------------------------------------------------
# JSON values

JSON_VARIABLES = {
    "Config": '{"Db": {"Host": "db1", "Port": 5432}, "Items": ["x", "y"], "Flag": true, "Nothing": null}',
    "Config.Db.Host": "overridden",
    "Prop": "Items",
    "List": "[2,3,5,8]",
    "NotJson": "{Name: NoComma}",
}

JSON_CASES = [
    ("a defined name wins over the JSON", "#{Config.Db.Host}", "overridden"),
    ("dot notation", "#{Config.Db.Port}", "5432"),
    ("index notation", "#{Config[Db][Port]}", "5432"),
    ("array element", "#{Config.Items[1]}", "y"),
    ("index by reference", "#{Config[#{Prop}][0]}", "x"),
    ("property names are case-insensitive", "#{config.db.port}", "5432"),
    ("booleans as .NET prints them", "#{Config.Flag}", "True"),
    ("null is empty", "[#{Config.Nothing}]", "[]"),
    ("a missing property is empty", "[#{Config.Nope}]", "[]"),
    ("an object is printed as compact JSON", "#{Config.Db}", '{"Host":"db1","Port":5432}'),
    ("past the end of an array is empty", "[#{List[4]}]", "[]"),
    ("into a number stays as written", "#{Config.Db.Port.X}", "#{Config.Db.Port.X}"),
    ("invalid JSON stays as written", "#{NotJson.Name}", "#{NotJson.Name}"),
]


@pytest.mark.parametrize(("case", "template", "expected"), JSON_CASES, ids=[row[0] for row in JSON_CASES])
def test_json_values(case: str, template: str, expected: str) -> None:
    assert substitute(template, JSON_VARIABLES) == expected


# ---------------------------------------------------------------------------------------------------------
# Arithmetic (Octostache's CalculationFixture)

CALC_VARIABLES = {"A": "5", "B": "7", "The/Var": "9", "Another-Var": "11", "Word": "abc"}

CALC_CASES = [
    ("add", "#{calc 3+2}", "5"),
    ("subtract", "#{calc 3-2}", "1"),
    ("multiply", "#{calc 3*2}", "6"),
    ("divide", "#{calc 3/2}", "1.5"),
    ("precedence", "#{calc 3*2+2*4}", "14"),
    ("parentheses", "#{calc 3*(2+2)*4}", "48"),
    ("variables", "#{calc A+B}", "12"),
    ("spaces", "#{calc A * (B + 1)}", "40"),
    ("negative result", "#{calc 2-B}", "-5"),
    ("unary minus", "#{calc -A + 1}", "-4"),
    ("wrapped variable", "#{calc {B}-2}", "5"),
    ("wrapped name with a slash", "#{calc {The/Var}-2}", "7"),
    ("wrapped name with a dash", "#{calc {Another-Var}-2}", "9"),
    ("a dash without spaces belongs to the name", "#{calc B-2}", "#{calc B-2}"),
    ("a dash with spaces is arithmetic", "#{calc B - 2}", "5"),
    ("decimal", "#{calc 2/4}", "0.5"),
    ("unknown variable", "#{calc C+2}", "#{calc C+2}"),
    ("non-numeric variable", "#{calc Word+2}", "#{calc Word+2}"),
    ("division by zero", "#{calc A/0}", "#{calc A/0}"),
    ("malformed", "#{calc 3+}", "#{calc 3+}"),
    ("reference inside", "#{calc #{A}*2}", "10"),
]


@pytest.mark.parametrize(("case", "template", "expected"), CALC_CASES, ids=[row[0] for row in CALC_CASES])
def test_calc(case: str, template: str, expected: str) -> None:
    assert substitute(template, CALC_VARIABLES) == expected


# ---------------------------------------------------------------------------------------------------------
# NowDate with an injected clock

NOW = datetime(2024, 3, 4, 5, 6, 7, 123456, tzinfo=timezone(timedelta(hours=2)))

NOW_CASES = [
    ("NowDate round trip, local time", "#{ | NowDate}", "2024-03-04T05:06:07.1234560"),
    ("NowDateUtc round trip", "#{ | NowDateUtc}", "2024-03-04T03:06:07.1234560Z"),
    ("NowDate with a format", "#{ | NowDate yyyy-MM-dd}", "2024-03-04"),
    ("NowDateUtc then Format", "#{ | NowDateUtc | Format DateTimeOffset zz}", "+00"),
    ("NowDate with an input is refused", "#{Name | NowDate}", "#{Name | NowDate}"),
]


@pytest.mark.parametrize(("case", "template", "expected"), NOW_CASES, ids=[row[0] for row in NOW_CASES])
def test_now_date(case: str, template: str, expected: str) -> None:
    assert substitute(template, {"Name": "x"}, now=NOW) == expected


# ---------------------------------------------------------------------------------------------------------
# Run-condition helpers

TRUTHY_CASES = [
    ("", False),
    ("0", False),
    ("false", False),
    ("False", False),
    (" FALSE ", False),
    ("no", False),
    ("No", False),
    ("true", True),
    ("True", True),
    ("1", True),
    ("yes", True),
    ("anything", True),
    (" ", True),
    (" 0", True),
    ("00", True),
]


@pytest.mark.parametrize(("text", "expected"), TRUTHY_CASES, ids=[repr(row[0]) for row in TRUTHY_CASES])
def test_is_truthy(text: str, expected: bool) -> None:
    assert is_truthy(text) is expected


RUN_CONDITION_CASES = [
    (
        "no error: the default run condition holds",
        "#{unless Octopus.Deployment.Error}true#{/unless}",
        {},
        True,
    ),
    (
        "after an error it does not",
        "#{unless Octopus.Deployment.Error}true#{/unless}",
        {"Octopus.Deployment.Error": "Step failed"},
        False,
    ),
    ("a true variable", "#{MyVar}", {"MyVar": "True"}, True),
    ("a false variable", "#{MyVar}", {"MyVar": "False"}, False),
    ("a variable set to no", "#{MyVar}", {"MyVar": "no"}, False),
    ("an unknown variable is false, not its token", "#{MyVar}", {}, False),
    ("an unknown filter is false", "#{MyVar | Nope}", {"MyVar": "True"}, False),
    (
        "a comparison",
        '#{if Octopus.Environment.Name == "Production"}true#{/if}',
        {"Octopus.Environment.Name": "Production"},
        True,
    ),
    (
        "a failed comparison renders empty",
        '#{if Octopus.Environment.Name == "Production"}true#{/if}',
        {},
        False,
    ),
    ("a value that refers on", "#{A}", {"A": "#{B}", "B": "true"}, True),
    ("a value with an unknown reference", "#{A}", {"A": "#{B}"}, False),
    ("plain text", "true", {}, True),
    ("plain false", "False", {}, False),
    ("an unterminated expression", "#{MyVar", {"MyVar": "True"}, False),
]


@pytest.mark.parametrize(
    ("case", "expression", "variables", "expected"),
    RUN_CONDITION_CASES,
    ids=[row[0] for row in RUN_CONDITION_CASES],
)
def test_evaluate_condition(case: str, expression: str, variables: dict[str, str], expected: bool) -> None:
    assert evaluate_condition(expression, variables) is expected


def test_text_without_expressions_is_returned_as_is() -> None:
    script = "echo hello\n" * 1000
    assert substitute(script, VARIABLES) is script
