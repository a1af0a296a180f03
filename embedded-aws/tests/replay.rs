//! Replay: messages redriven to a DLQ go back to their source queue, once each, and only to the queue whose
//! RedrivePolicy names that DLQ.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_moves_dead_letters_back_to_the_source() {
    let (server, _dir, target) = common::embedded().await;
    let dlq_url = server
        .create_queue("intake-dlq", Default::default())
        .await
        .unwrap();
    let policy = format!(
        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":1}}"#,
        server.queue_arn("intake-dlq")
    );
    let src_url = server
        .create_queue("intake", common::attrs(&[("RedrivePolicy", &policy)]))
        .await
        .unwrap();
    server
        .create_queue("unrelated", Default::default())
        .await
        .unwrap();

    let sqs = target.sqs();
    for i in 0..3 {
        sqs.send_message()
            .queue_url(&src_url)
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    // One receive each (visibility 0 so they are back at once), then the next receive redrives all three.
    let mut seen = 0;
    while seen < 3 {
        let got = sqs
            .receive_message()
            .queue_url(&src_url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        seen += got.messages.unwrap_or_default().len();
    }
    let none = sqs
        .receive_message()
        .queue_url(&src_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert!(none.messages.unwrap_or_default().is_empty());
    let depths = server.queue_depths().await.unwrap();
    assert_eq!(
        (depths["intake-dlq"].visible, depths["intake"].visible),
        (3, 0)
    );

    assert!(
        server.replay("intake-dlq", "unrelated").await.is_err(),
        "unrelated does not redrive to intake-dlq"
    );
    assert_eq!(server.replay("intake-dlq", "intake").await.unwrap(), 3);
    let depths = server.queue_depths().await.unwrap();
    assert_eq!(
        (depths["intake-dlq"].visible, depths["intake"].visible),
        (0, 3)
    );

    let got = sqs
        .receive_message()
        .queue_url(&src_url)
        .max_number_of_messages(10)
        .message_system_attribute_names(
            aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
        )
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    let mut bodies: Vec<_> = got.iter().map(|m| m.body.clone().unwrap()).collect();
    bodies.sort();
    assert_eq!(bodies, ["m0", "m1", "m2"]);
    assert!(got.iter().all(|m| m.attributes.as_ref().unwrap()
        [&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount]
        == "1"));
    let dlq_left = sqs
        .receive_message()
        .queue_url(&dlq_url)
        .send()
        .await
        .unwrap();
    assert!(dlq_left.messages.unwrap_or_default().is_empty());
}
