//! What the generator makes of the fixture contracts in `tests/fixtures/`,
//! checked on the generated Rust types themselves.

use fixture_unions_types::{
    Cat, Contact, Dog, EmailContact, Pet, PetInput, PetList, PhoneContact, Tristate,
};
use serde_json::json;
use validator::Validate;

#[test]
fn a_discriminated_union_decodes_by_its_discriminator() {
    let dog: Pet = serde_json::from_value(json!({
        "kind": "dog", "id": "01900000-0000-7000-8000-000000000001", "name": "Rex", "goodBoy": null
    }))
    .unwrap();
    let Pet::Dog(Dog { name, good_boy, .. }) = &dog else {
        panic!("{dog:?}")
    };
    assert_eq!(
        (name.as_str(), good_boy),
        ("Rex", &Tristate::Null),
        "optional + nullable keeps `null` apart from absent"
    );
    // Encoding is the variant's own, discriminator included.
    assert_eq!(serde_json::to_value(&dog).unwrap()["kind"], "dog");

    let unknown =
        serde_json::from_value::<Pet>(json!({ "kind": "parrot", "name": "Polly" })).unwrap_err();
    assert!(
        unknown.to_string().contains("expected one of `cat`, `dog`"),
        "{unknown}"
    );
    let missing = serde_json::from_value::<Pet>(json!({ "name": "Polly" })).unwrap_err();
    assert!(
        missing.to_string().contains("missing field `kind`"),
        "{missing}"
    );
}

#[test]
fn read_only_and_write_only_properties_split_the_shapes() {
    // The request shape has the write-only microchip and no read-only id.
    let input: PetInput =
        serde_json::from_value(json!({ "kind": "cat", "name": "Tom", "microchip": "985" }))
            .unwrap();
    let PetInput::CatInput(cat) = &input else {
        panic!("{input:?}")
    };
    assert_eq!(cat.microchip.as_deref(), Some("985"));
    // The response shape has the id and never the microchip.
    let stored = Cat {
        kind: "cat".into(),
        id: uuid::Uuid::nil(),
        name: "Tom".into(),
    };
    let sent = serde_json::to_value(Pet::Cat(stored)).unwrap();
    assert!(
        sent.get("microchip").is_none() && sent.get("id").is_some(),
        "{sent}"
    );
}

#[test]
fn an_untagged_union_is_told_apart_by_shape_and_validates_its_variant() {
    let email: Contact = serde_json::from_value(json!({ "email": "shelter@example.com" })).unwrap();
    assert!(matches!(email, Contact::EmailContact(EmailContact { .. })));
    let phone: Contact = serde_json::from_value(json!({ "phone": "+4412345" })).unwrap();
    assert!(matches!(phone, Contact::PhoneContact(PhoneContact { .. })));
    assert!(phone.validate().is_ok());
    let bad: Contact = serde_json::from_value(json!({ "phone": "12" })).unwrap();
    assert!(bad.validate().is_err(), "the variant's own rules apply");
    assert!(serde_json::from_value::<Contact>(json!({ "fax": "1" })).is_err());
}

#[test]
fn a_named_array_schema_is_a_type_alias() {
    let list: PetList = serde_json::from_value(json!([
        { "kind": "cat", "id": "01900000-0000-7000-8000-000000000002", "name": "Tom" }
    ]))
    .unwrap();
    assert!(matches!(list.as_slice(), [Pet::Cat(_)]));
}

#[test]
fn maps_are_string_keyed_dictionaries() {
    let shelter: fixture_unions_types::Shelter = serde_json::from_value(json!({
        "id": "01900000-0000-7000-8000-000000000003",
        "pets": [],
        "contact": { "email": "shelter@example.com" },
        "labels": { "city": "Berlin" },
        "stock": { "kibble": 12 }
    }))
    .unwrap();
    assert_eq!(
        shelter
            .labels
            .as_ref()
            .and_then(|l| l.get("city"))
            .map(String::as_str),
        Some("Berlin")
    );
    assert_eq!(
        shelter.stock.as_ref().and_then(|s| s.get("kibble")),
        Some(&12)
    );
    assert!(
        serde_json::from_value::<fixture_unions_types::Inventory>(json!({ "kibble": "lots" }))
            .is_err()
    );
}
