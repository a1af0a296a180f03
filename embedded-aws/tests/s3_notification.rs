//! Embedded only: a PutObject through the SDK lands an S3 event notification on the configured queue, in a shape
//! tr-core's own parser (the one the email lane uses) reads back to the same bucket, key and size.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use tr_core::s3_event::{S3Event, parse_s3_event};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_object_notifies_the_queue_in_the_real_event_shape() {
    let (server, _dir, target) = common::embedded().await;
    let queue_url = server
        .create_queue("raw-mail-events", Default::default())
        .await
        .unwrap();
    server.create_bucket("tr-raw-mail").await.unwrap();
    server
        .set_notification("tr-raw-mail", "raw-mail-events", "raw-mail")
        .await
        .unwrap();

    let body = b"Subject: hello\r\n\r\nbody\r\n".to_vec();
    let key = "inbound/a b+cé=1.eml";
    target
        .s3()
        .put_object()
        .bucket("tr-raw-mail")
        .key(key)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();

    let sqs = target.sqs();
    let got = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    let bodies: Vec<String> = got
        .messages
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.body.unwrap())
        .collect();
    assert_eq!(bodies.len(), 2, "the test event, then the put: {bodies:?}");
    assert_eq!(parse_s3_event(&bodies[0]).unwrap(), S3Event::Test);

    let S3Event::Objects(objects) = parse_s3_event(&bodies[1]).unwrap() else {
        panic!("objects expected")
    };
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].bucket, "tr-raw-mail");
    assert_eq!(objects[0].key, key, "decoded back to the key as stored");
    assert_eq!(objects[0].size, Some(body.len() as u64));
    assert_eq!(objects[0].event_name, "ObjectCreated:Put");

    // The raw JSON, field by field, as S3 writes it.
    let raw: serde_json::Value = serde_json::from_str(&bodies[1]).unwrap();
    let r = &raw["Records"][0];
    assert_eq!(r["eventVersion"], "2.1");
    assert_eq!(r["eventSource"], "aws:s3");
    assert_eq!(r["awsRegion"], "us-east-1");
    assert_eq!(r["s3"]["s3SchemaVersion"], "1.0");
    assert_eq!(r["s3"]["configurationId"], "raw-mail");
    assert_eq!(r["s3"]["bucket"]["arn"], "arn:aws:s3:::tr-raw-mail");
    assert_eq!(r["s3"]["object"]["key"], "inbound/a+b%2Bc%C3%A9%3D1.eml");
    assert_eq!(
        r["s3"]["object"]["eTag"],
        hex::encode(<md5::Md5 as md5::Digest>::digest(&body))
    );
    let time = r["eventTime"].as_str().unwrap();
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[19] == b'.',
        "{time}"
    );
    assert!(
        r["s3"]["object"]["sequencer"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );

    // The Rust API's put_object notifies too.
    server
        .put_object("tr-raw-mail", "inbound/second.eml", b"x".to_vec())
        .await
        .unwrap();
    let depths = server.queue_depths().await.unwrap();
    assert_eq!(depths["raw-mail-events"].visible, 1);
}
