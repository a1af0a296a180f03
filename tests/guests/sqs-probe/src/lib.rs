//! A `spin:sqs@3.0.0` guest for host tests. A message body is `<action> <tag>`: the guest counts the delivery
//! under key `<tag>` in the default key-value store (so a test can see how often it ran), then does the action:
//! `delete`, `leave`, `error` (returns an error), `trap` (panics), `slow` (sleeps 3 s, then deletes).

spin_sdk::wit_bindgen::generate!({
    world: "spin:sqs/spin-sqs@3.0.0",
    path: "../../../wit",
    runtime_path: "spin_sdk::wit_bindgen::rt",
});


struct Probe;

impl Guest for Probe {
    async fn handle_queue_message(message: Message) -> Result<MessageAction, Error> {
        let body = message.body.unwrap_or_default();
        let (action, tag) = body.split_once(' ').unwrap_or((body.as_str(), "untagged"));
        let store = spin_sdk::key_value::Store::open_default().await.map_err(|e| Error::Other(format!("{e:?}")))?;
        let seen = store
            .get(tag)
            .await
            .map_err(|e| Error::Other(format!("{e:?}")))?
            .and_then(|v| String::from_utf8(v).ok()?.parse::<u32>().ok())
            .unwrap_or(0);
        store.set(tag, (seen + 1).to_string()).await.map_err(|e| Error::Other(format!("{e:?}")))?;
        match action {
            "delete" => Ok(MessageAction::Delete),
            "leave" => Ok(MessageAction::Leave),
            "error" => Err(Error::Other(format!("scripted failure for {tag}"))),
            "trap" => panic!("scripted trap for {tag}"),
            "slow" => {
                spin_sdk::time::sleep(std::time::Duration::from_secs(3)).await;
                Ok(MessageAction::Delete)
            }
            other => Err(Error::Other(format!("unknown action {other}"))),
        }
    }
}

export!(Probe);
