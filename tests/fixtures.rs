//! What the generator makes of the fixture contracts in `tests/fixtures/`,
//! checked on the generated Rust types themselves.

use fixture_unions_types::{
    Adoption, AdoptionOneOf, Animal, Bird, Cat, Contact, Dog, EmailContact, Horse,
    InPersonAdoption, PartnerAdoption, Pet, PetInput, PetList, PhoneContact, RemoteAdoption,
    ShelterNote, ShelterNote2, Tristate, Zebra,
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
fn a_base_schema_with_a_discriminator_is_the_union_of_its_subtypes() {
    // `bird` is the mapping's value; `Horse` is told by the schema's own name.
    let bird = json!({ "species": "bird", "name": "Tweety", "wingspan": 0.2 });
    let horse = json!({ "species": "Horse", "name": "Ed", "hooves": 4 });
    let decoded: Animal = serde_json::from_value(bird.clone()).unwrap();
    let Animal::Bird(Bird { name, wingspan, .. }) = &decoded else {
        panic!("{decoded:?}")
    };
    assert_eq!((name.as_str(), *wingspan), ("Tweety", Some(0.2)));
    assert_eq!(serde_json::to_value(&decoded).unwrap(), bird);
    let decoded: Animal = serde_json::from_value(horse.clone()).unwrap();
    let Animal::Horse(Horse { hooves, .. }) = &decoded else {
        panic!("{decoded:?}")
    };
    assert_eq!(*hooves, 4);
    assert_eq!(serde_json::to_value(&decoded).unwrap(), horse);

    // The base's own rules reach every subtype through the `allOf` merge.
    let nameless: Animal =
        serde_json::from_value(json!({ "species": "Horse", "name": "", "hooves": 4 })).unwrap();
    assert!(nameless.validate().is_err(), "`name` has minLength 1");
    // A subtype's own required properties stay required.
    assert!(serde_json::from_value::<Animal>(json!({ "species": "Horse", "name": "Ed" })).is_err());

    let unknown =
        serde_json::from_value::<Animal>(json!({ "species": "cat", "name": "Tom" })).unwrap_err();
    assert!(
        unknown
            .to_string()
            .contains("expected one of `bird`, `Horse`, `zebra`"),
        "{unknown}"
    );
    // The base is abstract: its own name is no tag, the mapping replaced `Bird`.
    for tag in ["Animal", "Bird"] {
        assert!(
            serde_json::from_value::<Animal>(json!({ "species": tag, "name": "x" })).is_err(),
            "{tag}"
        );
    }
}

#[test]
fn schema_names_that_are_not_type_names_are_renamed_but_keep_their_tags() {
    // `zebra` is the type `Zebra`; a discriminator still tells it by `zebra`.
    let zebra = json!({ "species": "zebra", "name": "Marty", "stripes": 40 });
    let decoded: Animal = serde_json::from_value(zebra.clone()).unwrap();
    let Animal::Zebra(Zebra { stripes, .. }) = &decoded else {
        panic!("{decoded:?}")
    };
    assert_eq!(*stripes, Some(40));
    assert_eq!(serde_json::to_value(&decoded).unwrap(), zebra);
    assert!(serde_json::from_value::<Animal>(json!({ "species": "Zebra", "name": "x" })).is_err());
    // `shelter_note` would be `ShelterNote`, which is taken: it is `ShelterNote2`,
    // with its own rules.
    let motto: ShelterNote2 = serde_json::from_value(json!("x".repeat(81))).unwrap();
    assert!(motto.validate().is_err(), "maxLength 80");
    let note: ShelterNote = serde_json::from_value(json!({ "text": "open" })).unwrap();
    assert_eq!(note.text, "open");
}

#[test]
fn a_one_of_over_primitives_and_inline_schemas_is_told_apart_by_shape() {
    use fixture_unions_types::{
        Capacity, CapacityObject, CapacityString, ShelterProfileBadge, ShelterProfileBadgeOneOf,
    };
    let number: Capacity = serde_json::from_value(json!(12)).unwrap();
    assert!(
        matches!(&number, Capacity::CapacityInteger(n) if **n == 12),
        "{number:?}"
    );
    assert!(number.validate().is_ok());
    let negative: Capacity = serde_json::from_value(json!(-1)).unwrap();
    assert!(
        negative.validate().is_err(),
        "the variant's own minimum applies"
    );
    let unlimited: Capacity = serde_json::from_value(json!("unlimited")).unwrap();
    assert!(matches!(
        unlimited,
        Capacity::CapacityString(CapacityString::Unlimited)
    ));
    let range: Capacity = serde_json::from_value(json!({ "min": 1, "max": 9 })).unwrap();
    assert!(matches!(
        range,
        Capacity::CapacityObject(CapacityObject { min: 1, max: 9 })
    ));
    for value in [
        json!(range.clone()),
        json!(unlimited.clone()),
        json!(number.clone()),
    ] {
        let again: Capacity = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(serde_json::to_value(&again).unwrap(), value);
    }
    assert!(serde_json::from_value::<Capacity>(json!("some")).is_err());
    assert!(serde_json::from_value::<Capacity>(json!({ "min": 1 })).is_err());

    // Inline `anyOf` with a titled entry and a nested `oneOf`.
    let label: ShelterProfileBadge = serde_json::from_value(json!("cosy")).unwrap();
    assert!(
        matches!(label, ShelterProfileBadge::ShelterProfileBadgeLabel(_)),
        "{label:?}"
    );
    let list: ShelterProfileBadge = serde_json::from_value(json!(["a", "b"])).unwrap();
    assert!(
        matches!(list, ShelterProfileBadge::ShelterProfileBadgeArray(_)),
        "{list:?}"
    );
    let flag: ShelterProfileBadge = serde_json::from_value(json!(true)).unwrap();
    assert!(
        matches!(
            flag,
            ShelterProfileBadge::ShelterProfileBadgeOneOf(
                ShelterProfileBadgeOneOf::ShelterProfileBadgeOneOfBoolean(_)
            )
        ),
        "{flag:?}"
    );
    let note: ShelterProfileBadge = serde_json::from_value(json!({ "text": "open" })).unwrap();
    assert!(
        matches!(
            note,
            ShelterProfileBadge::ShelterProfileBadgeOneOf(ShelterProfileBadgeOneOf::ShelterNote(_))
        ),
        "{note:?}"
    );
    let blank: ShelterProfileBadge = serde_json::from_value(json!("")).unwrap();
    assert!(blank.validate().is_err(), "minLength 1 of the titled entry");
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

#[test]
fn properties_beside_a_one_of_are_one_object_and_each_tag_round_trips() {
    // `phone` and `web` are both a `RemoteAdoption`: each decodes to its own
    // variant and encodes as itself.
    for (channel, expected) in [("phone", "Phone"), ("web", "Web")] {
        let wire = json!({ "adopter": "Ann", "channel": channel, "contact": "ann@example.com" });
        let adoption: Adoption = serde_json::from_value(wire.clone()).unwrap();
        let variant = match &adoption.one_of {
            AdoptionOneOf::Phone(RemoteAdoption { contact }) => ("Phone", contact),
            AdoptionOneOf::Web(RemoteAdoption { contact }) => ("Web", contact),
            other => panic!("{other:?}"),
        };
        assert_eq!(variant, (expected, &"ann@example.com".to_owned()));
        assert_eq!(adoption.adopter, "Ann");
        assert_eq!(serde_json::to_value(&adoption).unwrap(), wire);
    }

    // A variant that does not declare `channel`: the union writes its tag.
    let walk_in = Adoption {
        adopter: "Bo".into(),
        one_of: AdoptionOneOf::InPersonAdoption(InPersonAdoption {
            visited_on: "2026-12-01".parse().unwrap(),
        }),
    };
    let wire = json!({ "adopter": "Bo", "channel": "walkIn", "visitedOn": "2026-12-01" });
    assert_eq!(serde_json::to_value(&walk_in).unwrap(), wire);
    assert_eq!(serde_json::from_value::<Adoption>(wire).unwrap(), walk_in);

    // A variant that declares it without requiring it reads the tag, and the
    // union's tag wins over whatever the variant holds.
    let partner: Adoption =
        serde_json::from_value(json!({ "adopter": "Cy", "channel": "partner", "partner": "Paws" }))
            .unwrap();
    let AdoptionOneOf::PartnerAdoption(PartnerAdoption { channel, .. }) = &partner.one_of else {
        panic!("{partner:?}")
    };
    assert_eq!(channel.as_deref(), Some("partner"));
    let stray = Adoption {
        adopter: "Cy".into(),
        one_of: AdoptionOneOf::PartnerAdoption(PartnerAdoption {
            channel: Some("web".into()),
            partner: "Paws".into(),
        }),
    };
    assert_eq!(serde_json::to_value(&stray).unwrap()["channel"], "partner");

    // The discriminator is required for the union, declared or not.
    let missing =
        serde_json::from_value::<Adoption>(json!({ "adopter": "Di", "contact": "x" })).unwrap_err();
    assert!(missing.to_string().contains("channel"), "{missing}");
    let unknown = serde_json::from_value::<Adoption>(
        json!({ "adopter": "Di", "channel": "fax", "contact": "xyz" }),
    )
    .unwrap_err();
    assert!(
        unknown
            .to_string()
            .contains("expected one of `walkIn`, `phone`, `web`, `partner`"),
        "{unknown}"
    );
}

#[test]
fn properties_beside_a_one_of_validate_both_parts_side_by_side() {
    let adoption: Adoption =
        serde_json::from_value(json!({ "adopter": "", "channel": "web", "contact": "ab" }))
            .unwrap();
    let errors = adoption.validate().unwrap_err();
    let violations = keel_runtime::validate::violations(&errors);
    let pointers: Vec<&str> = violations.iter().map(|v| v.pointer.as_str()).collect();
    // The variant's `contact` sits beside `adopter`, as in the JSON.
    assert_eq!(pointers, ["/adopter", "/contact"], "{violations:?}");
}
