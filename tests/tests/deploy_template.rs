//! The AWS template (`deploy/aws/tr-intake.yaml`) is valid CloudFormation — `cfn-lint` passes on it — and it grants
//! each component exactly what that component does: the table below names, per component, every action and the
//! template names (resources, parameters) each action's Resource is built from. An extra action, a missing one, or
//! an action pointed at another queue fails. No policy in the template has a wildcard action, a wildcard principal,
//! or a wildcard resource other than the one S3 needs for "every mail SES writes under the prefix". Every
//! `[[trigger.sqs]]` in spin.toml consumes a queue the template creates, and that component's policy holds the
//! receive side on exactly that queue.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

const TEMPLATE: &str = "deploy/aws/tr-intake.yaml";

/// The one wildcard allowed in a Resource: S3 object ARNs cannot name keys that do not exist yet any other way.
const OBJECT_KEY_WILDCARD: &str = "${RawMailBucket.Arn}/${MailObjectPrefix}*";

/// The four calls trigger-sqs makes on the queue it consumes (GetQueueAttributes for the visibility timeout,
/// ChangeMessageVisibility for lease renewal).
const CONSUME: [&str; 4] =
    ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"];

type Grants = BTreeMap<String, BTreeSet<String>>;

/// One row of the table below: (action, template names its Resource is built from).
type Row<'a> = (&'a str, &'a [&'a str]);

/// Component → (policy's logical id, action → names its Resource is built from). Written from the code, not from
/// the template: lanes send tickets (and append events, when that queue exists); email also consumes raw-mail
/// events and reads the mail; read consumes tickets, calls the model and passes read tickets on (when that queue
/// exists); Spin itself keeps the key-value store.
fn expected() -> BTreeMap<&'static str, (&'static str, Grants)> {
    let lane_sends = ("sqs:SendMessage", &["TicketQueue", "AppendQueue"][..]);
    let table: [(&str, &str, Vec<Row>); 5] = [
        ("form", "FormPolicy", vec![lane_sends]),
        ("chat", "ChatPolicy", vec![lane_sends]),
        (
            "email",
            "EmailPolicy",
            [lane_sends, ("s3:GetObject", &["RawMailBucket", "MailObjectPrefix"][..])]
                .into_iter()
                .chain(CONSUME.iter().map(|a| (*a, &["RawMailQueue"][..])))
                .collect(),
        ),
        (
            "read",
            "ReadPolicy",
            [
                ("bedrock:InvokeModel", &["InferenceProfilePrefix", "ModelId", "ModelRegions"][..]),
                ("sqs:SendMessage", &["ReadQueue"][..]),
            ]
            .into_iter()
            .chain(CONSUME.iter().map(|a| (*a, &["TicketQueue"][..])))
            .collect(),
        ),
        (
            "spin runtime (key-value store)",
            "KeyValueStorePolicy",
            // UpdateItem: compare-and-swap (Spin sends a conditional update in TransactWriteItems).
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"]
                .iter()
                .map(|a| (*a, &["KeyValueTable"][..]))
                .collect(),
        ),
    ];
    table
        .into_iter()
        .map(|(component, policy, grants)| {
            let grants = grants
                .into_iter()
                .map(|(action, names)| (action.to_owned(), names.iter().map(|n| n.to_string()).collect()))
                .collect();
            (component, (policy, grants))
        })
        .collect()
}

#[test]
fn cfn_lint_passes() {
    let version = match Command::new("cfn-lint").arg("--version").output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Err(e) => panic!(
            "cannot run cfn-lint ({e}). Install it: `python3 -m pip install cfn-lint` (.ci/run does); \
             this test never skips."
        ),
    };
    let out =
        Command::new("cfn-lint").arg(TEMPLATE).current_dir(repo_root()).output().expect("cfn-lint ran a moment ago");
    assert!(
        out.status.success(),
        "{version} on {TEMPLATE} exited with {}:\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{version}: {TEMPLATE} clean");
}

#[test]
fn each_component_policy_grants_exactly_what_the_component_does() {
    let template = template();
    let policies: BTreeMap<String, &Value> = resources(&template)
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::IAM::ManagedPolicy"))
        .map(|(id, r)| (id.to_owned(), r))
        .collect();

    let expected = expected();
    let covered: BTreeSet<&str> = expected.values().map(|(policy, _)| *policy).collect();
    let unchecked: Vec<&String> = policies.keys().filter(|id| !covered.contains(id.as_str())).collect();
    assert!(unchecked.is_empty(), "managed policies with no row in this test's table: {unchecked:?}");

    for (component, (policy_id, want)) in &expected {
        let policy = policies.get(*policy_id).unwrap_or_else(|| panic!("{component}: no {policy_id} in {TEMPLATE}"));
        let got = grants(&policy["Properties"]["PolicyDocument"], policy_id);
        let want_actions: BTreeSet<&String> = want.keys().collect();
        let got_actions: BTreeSet<&String> = got.keys().collect();
        assert_eq!(got_actions, want_actions, "{component} ({policy_id}): actions differ from what the component does");
        for (action, names) in want {
            assert_eq!(&got[action], names, "{component} ({policy_id}): {action} is granted on other resources");
        }
    }
}

#[test]
fn no_policy_has_a_wildcard_action_principal_or_resource() {
    let template = template();
    let mut documents = Vec::new();
    for (id, resource) in resources(&template) {
        collect_policy_documents(resource, id, &mut documents);
    }
    // Queue policy, bucket policy, five managed policies: a walker that finds fewer checked nothing.
    assert!(documents.len() >= 7, "found only {} policy documents", documents.len());
    let mut problems = Vec::new();
    for (id, document) in documents {
        problems.extend(wildcards(document, id));
    }
    assert!(problems.is_empty(), "wildcards in {TEMPLATE}:\n{}", problems.join("\n"));
}

/// The wildcard check must itself be able to fail: fed the usual mistakes, it reports each one.
#[test]
fn the_wildcard_check_reports_broad_grants() {
    let document: Value = serde_yaml_ng::from_str(
        r#"
Statement:
  - Effect: Allow
    Action: "sqs:*"
    Resource: !GetAtt TicketQueue.Arn
  - Effect: Allow
    Action: s3:GetObject
    Resource: "*"
  - Effect: Allow
    Action: sqs:SendMessage
    Resource: !Sub "arn:${AWS::Partition}:sqs:*:${AWS::AccountId}:tickets"
  - Effect: Allow
    Principal: { AWS: "*" }
    Action: s3:PutObject
    Resource: !Sub "${RawMailBucket.Arn}/*"
  - !If
    - SomeCondition
    - Effect: Allow
      Action: [bedrock:InvokeModel, "bedrock:*"]
      Resource: !Sub "${RawMailBucket.Arn}/${MailObjectPrefix}*"
    - !Ref AWS::NoValue
"#,
    )
    .unwrap();
    let problems = wildcards(&document, "Synthetic");
    assert_eq!(problems.len(), 6, "{problems:#?}");
}

#[test]
fn every_queue_a_component_consumes_has_a_dead_letter_queue() {
    let template = template();
    let max_receive = &template["Parameters"]["MaxReceiveCount"];
    assert_eq!(max_receive["Default"].as_u64(), Some(5), "MaxReceiveCount defaults to 5");
    for queue in ["TicketQueue", "RawMailQueue", "AppendQueue", "ReadQueue"] {
        let redrive = &template["Resources"][queue]["Properties"]["RedrivePolicy"];
        let mut dlq = BTreeSet::new();
        references(&redrive["deadLetterTargetArn"], &mut dlq);
        assert_eq!(dlq.len(), 1, "{queue}: deadLetterTargetArn should name one queue, names {dlq:?}");
        let dlq = dlq.into_iter().next().unwrap();
        assert_eq!(
            template["Resources"][dlq.as_str()]["Type"].as_str(),
            Some("AWS::SQS::Queue"),
            "{queue}: its dead-letter target {dlq} is not a queue"
        );
        let mut count = BTreeSet::new();
        references(&redrive["maxReceiveCount"], &mut count);
        assert_eq!(
            count,
            BTreeSet::from(["MaxReceiveCount".to_owned()]),
            "{queue}: maxReceiveCount is not the parameter"
        );
    }
}

/// spin.toml's `[[trigger.sqs]]` URLs are literals edited per deployment; their last segment is the queue name, which
/// must be one the template creates (its parameter's default) and which the component's policy must consume.
#[test]
fn each_sqs_trigger_consumes_a_template_queue_its_policy_covers() {
    let template = template();
    let manifest: toml::Table = toml::from_str(&read("spin.toml")).expect("spin.toml parses");
    let triggers =
        manifest.get("trigger").and_then(|t| t.get("sqs")).and_then(|s| s.as_array()).cloned().unwrap_or_default();
    assert!(!triggers.is_empty(), "spin.toml has no [[trigger.sqs]]: this test would check nothing");

    // Queue name (the parameter's default) → the queue's logical id.
    let mut queues = BTreeMap::new();
    for (id, resource) in resources(&template).filter(|(_, r)| r["Type"].as_str() == Some("AWS::SQS::Queue")) {
        if let Some(parameter) =
            intrinsic(&resource["Properties"]["QueueName"]).filter(|(f, _)| *f == "Ref").map(|(_, a)| a)
        {
            let name = template["Parameters"][parameter.as_str().unwrap()]["Default"].as_str().unwrap().to_owned();
            queues.insert(name, id.to_owned());
        }
    }

    let expected = expected();
    for trigger in &triggers {
        let component = trigger["component"].as_str().expect("trigger.sqs component is a string");
        let url = trigger["queue_url"].as_str().expect("trigger.sqs queue_url is a string");
        let name = url.rsplit('/').next().unwrap();
        let queue = queues.get(name).unwrap_or_else(|| {
            panic!(
                "[[trigger.sqs]] for {component} reads queue `{name}`, which the template does not create ({queues:?})"
            )
        });
        let (_, grants) =
            expected.get(component).unwrap_or_else(|| panic!("no policy row for queue component {component}"));
        for action in CONSUME {
            let on =
                grants.get(action).unwrap_or_else(|| panic!("{component} consumes {name} but is not granted {action}"));
            assert!(on.contains(queue), "{component} consumes {queue} but {action} is granted on {on:?}");
        }
    }
}

// --- Reading the template -------------------------------------------------------------------------------------

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the repository").to_path_buf()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn template() -> Value {
    serde_yaml_ng::from_str(&read(TEMPLATE)).unwrap_or_else(|e| panic!("{TEMPLATE} does not parse: {e}"))
}

fn resources(template: &Value) -> impl Iterator<Item = (&str, &Value)> {
    template["Resources"].as_mapping().expect("Resources is a mapping").iter().map(|(k, v)| (k.as_str().unwrap(), v))
}

/// A CloudFormation function in either form, short (`!Sub x`) or long (`{"Fn::Sub": x}`): its short name and argument.
fn intrinsic(node: &Value) -> Option<(String, &Value)> {
    match node {
        Value::Tagged(tagged) => Some((tagged.tag.to_string().trim_start_matches('!').to_owned(), &tagged.value)),
        Value::Mapping(map) if map.len() == 1 => {
            let (key, arg) = map.iter().next()?;
            let key = key.as_str()?;
            (key == "Ref" || key.starts_with("Fn::")).then(|| (key.trim_start_matches("Fn::").to_owned(), arg))
        }
        _ => None,
    }
}

fn is_no_value(node: &Value) -> bool {
    matches!(intrinsic(node), Some((f, arg)) if f == "Ref" && arg.as_str() == Some("AWS::NoValue"))
}

/// Template names (resources and parameters, not `AWS::` pseudo parameters) a value is built from.
fn references(node: &Value, out: &mut BTreeSet<String>) {
    if let Some((function, arg)) = intrinsic(node) {
        match function.as_str() {
            "Ref" => {
                let name = arg.as_str().expect("Ref takes a name");
                if !name.starts_with("AWS::") {
                    out.insert(name.to_owned());
                }
            }
            "GetAtt" => {
                let name = match arg {
                    Value::String(s) => s.split('.').next().unwrap().to_owned(),
                    Value::Sequence(parts) => parts[0].as_str().expect("GetAtt names a resource").to_owned(),
                    other => panic!("unexpected GetAtt argument {other:?}"),
                };
                out.insert(name);
            }
            "Sub" => {
                let (text, locals) = match arg {
                    Value::String(s) => (s.as_str(), None),
                    Value::Sequence(parts) => {
                        (parts[0].as_str().expect("Sub text"), parts.get(1).and_then(Value::as_mapping))
                    }
                    other => panic!("unexpected Sub argument {other:?}"),
                };
                let local_names: BTreeSet<&str> =
                    locals.into_iter().flat_map(|m| m.keys()).filter_map(Value::as_str).collect();
                for name in sub_variables(text) {
                    if !name.starts_with("AWS::") && !local_names.contains(name) {
                        out.insert(name.to_owned());
                    }
                }
                for value in locals.into_iter().flat_map(|m| m.values()) {
                    references(value, out);
                }
            }
            // The condition name is not part of the value; either branch may be what is deployed.
            "If" => {
                for branch in arg.as_sequence().expect("If takes a list").iter().skip(1) {
                    references(branch, out);
                }
            }
            _ => references(arg, out),
        }
        return;
    }
    match node {
        Value::Sequence(items) => items.iter().for_each(|i| references(i, out)),
        Value::Mapping(map) => map.values().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// `${Name}` and `${Name.Attribute}` in a Sub string, as `Name` (`${!Literal}` is not a variable).
fn sub_variables(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}').expect("unclosed ${ in Sub");
        let inner = &after[..end];
        if !inner.starts_with('!') {
            names.push(inner.split('.').next().unwrap());
        }
        rest = &after[end + 1..];
    }
    names
}

/// Statements of a document, with both branches of a conditional statement (`!If [c, stmt, !Ref AWS::NoValue]`).
fn statements(document: &Value) -> Vec<&Value> {
    fn flatten<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
        if is_no_value(node) {
            return;
        }
        match intrinsic(node) {
            Some((f, arg)) if f == "If" => arg.as_sequence().unwrap().iter().skip(1).for_each(|b| flatten(b, out)),
            Some((f, _)) => panic!("a statement built with Fn::{f} cannot be checked"),
            None => match node {
                Value::Sequence(items) => items.iter().for_each(|i| flatten(i, out)),
                _ => out.push(node),
            },
        }
    }
    let mut out = Vec::new();
    flatten(&document["Statement"], &mut out);
    out
}

/// A string or a list of strings; nothing computed, so the test sees what IAM sees.
fn strings<'a>(node: &'a Value, what: &str) -> Vec<&'a str> {
    match node {
        Value::String(s) => vec![s.as_str()],
        Value::Sequence(items) => {
            items.iter().map(|i| i.as_str().unwrap_or_else(|| panic!("{what}: {i:?} is not a string"))).collect()
        }
        other => panic!("{what}: {other:?} is not a string or a list of strings"),
    }
}

fn grants(document: &Value, policy: &str) -> Grants {
    let mut out: Grants = BTreeMap::new();
    for statement in statements(document) {
        assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{policy}: only Allow statements are expected");
        for forbidden in ["NotAction", "NotResource", "NotPrincipal"] {
            assert!(statement.get(forbidden).is_none(), "{policy}: {forbidden} grants everything else");
        }
        let mut names = BTreeSet::new();
        references(&statement["Resource"], &mut names);
        assert!(!names.is_empty(), "{policy}: a statement's Resource names nothing in the template");
        for action in strings(&statement["Action"], policy) {
            out.entry(action.to_owned()).or_default().extend(names.iter().cloned());
        }
    }
    out
}

fn collect_policy_documents<'a>(node: &'a Value, id: &'a str, out: &mut Vec<(&'a str, &'a Value)>) {
    if let Some((_, arg)) = intrinsic(node) {
        return collect_policy_documents(arg, id, out);
    }
    match node {
        Value::Mapping(map) => {
            for (key, value) in map {
                if key.as_str() == Some("PolicyDocument") {
                    out.push((id, value));
                } else {
                    collect_policy_documents(value, id, out);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| collect_policy_documents(i, id, out)),
        _ => {}
    }
}

/// Every string inside a value, through functions too (a `*` inside `!Sub` is as broad as a literal one).
fn scalars<'a>(node: &'a Value, out: &mut Vec<&'a str>) {
    match node {
        Value::String(s) => out.push(s),
        Value::Tagged(tagged) => scalars(&tagged.value, out),
        Value::Sequence(items) => items.iter().for_each(|i| scalars(i, out)),
        Value::Mapping(map) => map.iter().for_each(|(k, v)| {
            scalars(k, out);
            scalars(v, out)
        }),
        _ => {}
    }
}

fn wildcards(document: &Value, id: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for statement in statements(document) {
        for action in strings(&statement["Action"], id) {
            if action.contains('*') {
                problems.push(format!("{id}: action {action}"));
            }
        }
        let mut resources = Vec::new();
        scalars(&statement["Resource"], &mut resources);
        for resource in resources {
            if resource.contains('*') && resource != OBJECT_KEY_WILDCARD {
                problems.push(format!("{id}: resource {resource}"));
            }
        }
        let mut principals = Vec::new();
        scalars(&statement["Principal"], &mut principals);
        for principal in principals {
            if principal.contains('*') {
                problems.push(format!("{id}: principal {principal}"));
            }
        }
    }
    problems
}
