//! Any bytes given as a JSON body to the REST API's request types (`mubadile-api-json`, the
//! types the handlers deserialize): a clear error or a value, never a panic. Round trip: a body
//! that reads serializes and reads back equal. Addressees go through the organisation id check
//! the send handler applies next.
#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use mubadile_api_json::documents::{RefusalBody, SendBody};
use mubadile_api_json::signatures::{ExtendBody, FinishBody, PrepareBody};
use mubadile_api_json::validations::ValidationBody;
use mubadile_core::exchange::OrganisationId;
use serde::Serialize;
use serde::de::DeserializeOwned;

fuzz_target!(|data: &[u8]| {
    if let Some(send) = round_trip::<SendBody>(data) {
        for addressee in &send.addressees {
            let _ = OrganisationId::parse(addressee);
        }
    }
    round_trip::<ValidationBody>(data);
    round_trip::<RefusalBody>(data);
    round_trip::<PrepareBody>(data);
    round_trip::<FinishBody>(data);
    round_trip::<ExtendBody>(data);
});

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let value: T = serde_json::from_slice(data).ok()?;
    let json = serde_json::to_vec(&value).expect("a body that was read serializes");
    let again: T = serde_json::from_slice(&json).expect("a serialized body reads back");
    assert_eq!(again, value);
    Some(value)
}
