//! Create keys, seal fields, reopen with the KEK from its hex form, rotate, look up by blind
//! index, and mask for display.

use domain::ResidentId;
use privacy::{Algorithm, Kek, Keyring, PrivacyError, mask};

const ID: &str = "11010519491231002X";

#[test]
fn a_database_key_life_cycle() {
    let kek = Kek::generate();
    let kek_hex = kek.to_hex();
    let (ring, wrapped) = Keyring::create(&kek, Algorithm::default()).expect("creates");
    let id = ResidentId::parse(ID).expect("valid synthetic ID");
    let sealed_id = ring.seal("person_id", "person:1", id.as_str());
    let sealed_name = ring.seal("name", "person:1", "张小华");
    for sealed in [&sealed_id, &sealed_name] {
        assert!(!sealed.windows(ID.len()).any(|w| w == ID.as_bytes()));
        assert!(!sealed.windows(9).any(|w| w == "张小华".as_bytes()));
    }

    // The binary reopens the keyring with the KEK read back from a key file.
    let kek2 = Kek::from_hex(&kek_hex).expect("hex round trip");
    let ring2 = Keyring::open(&kek2, &wrapped).expect("opens");
    let name = ring2
        .open_text("name", "person:1", &sealed_name)
        .expect("opens");
    assert_eq!(name.expose(), "张小华");
    assert_eq!(mask::name(name.expose()), "张*华");
    assert_eq!(format!("{name:?}"), "Revealed(***)");

    // Moving a value to another record or field fails.
    assert_eq!(
        ring2
            .open_text("name", "person:2", &sealed_name)
            .map(|_| ()),
        Err(PrivacyError::Authentication)
    );
    assert_eq!(
        ring2
            .open_text("person_id", "person:1", &sealed_name)
            .map(|_| ()),
        Err(PrivacyError::Authentication)
    );

    // Blind index: the same normalised ID gives the same index; a lower-case x gives the same
    // index, because look-ups go through ResidentId.
    assert_eq!(ring.blind_id(&id), ring2.blind_id(&id));
    let lower = ResidentId::parse(&ID.to_lowercase()).expect("lower-case x accepted");
    assert_eq!(ring2.blind_id(&lower), ring2.blind_id(&id));
    let other = ResidentId::parse("110105194912310038").expect("valid synthetic ID");
    assert_ne!(ring2.blind_id(&other), ring2.blind_id(&id));

    // A wrong KEK opens nothing.
    assert!(matches!(
        Keyring::open(&Kek::generate(), &wrapped),
        Err(PrivacyError::WrongKek(_))
    ));
}

#[test]
fn aes_selectable_and_masks_for_export() {
    let kek = Kek::generate();
    let (ring, _) = Keyring::create(&kek, Algorithm::Aes256Gcm).expect("creates");
    let sealed = ring.seal("phone", "person:9", "13812345678");
    assert_eq!(
        privacy::sealed::Header::read(&sealed).map(|h| h.algorithm),
        Ok(Algorithm::Aes256Gcm)
    );
    let phone = ring.open_text("phone", "person:9", &sealed).expect("opens");
    assert_eq!(mask::phone(phone.expose()), "138****5678");
    assert_eq!(mask::id(ID), "110105********002X");
    assert_eq!(Algorithm::parse("SM4-GCM"), Some(Algorithm::Sm4Gcm));
    assert_eq!(Algorithm::parse("des"), None);
}
