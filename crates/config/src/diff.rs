//! What a reload changes: which parts of the config differ between the
//! running and the new one, so the supervisor restarts or reconfigures
//! only the daemons whose slice changed.

use crate::model::{Config, Lan};

/// The parts of two configs that differ. LANs are matched by interface
/// name, so reordering `[[lan]]` entries changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ConfigDiff {
    /// `[system]` differs (hostname, log level, directories).
    pub system: bool,
    /// `[wan]` or one of its sub-tables differs (including the password
    /// read from `password_file`).
    pub wan: bool,
    /// LAN interfaces present only in the new config.
    pub lans_added: Vec<String>,
    /// LAN interfaces present only in the running config.
    pub lans_removed: Vec<String>,
    /// LAN interfaces in both whose settings differ.
    pub lans_changed: Vec<String>,
    /// `[dns]` differs.
    pub dns: bool,
    /// `[firewall]` differs.
    pub firewall: bool,
    /// `[ntp]` differs.
    pub ntp: bool,
}

impl ConfigDiff {
    /// True when the configs are equivalent and a reload is a no-op.
    pub fn is_empty(&self) -> bool {
        *self == ConfigDiff::default()
    }
}

/// Compares the running config with a newly loaded one.
pub fn diff(old: &Config, new: &Config) -> ConfigDiff {
    let find = |lans: &'_ [Lan], name: &str| -> Option<usize> {
        lans.iter().position(|l| l.interface == name)
    };
    let mut result = ConfigDiff {
        system: old.system != new.system,
        wan: old.wan != new.wan,
        dns: old.dns != new.dns,
        firewall: old.firewall != new.firewall,
        ntp: old.ntp != new.ntp,
        ..ConfigDiff::default()
    };
    for lan in &new.lan {
        match find(&old.lan, &lan.interface).and_then(|i| old.lan.get(i)) {
            None => result.lans_added.push(lan.interface.clone()),
            Some(previous) if previous != lan => result.lans_changed.push(lan.interface.clone()),
            Some(_) => {}
        }
    }
    for lan in &old.lan {
        if find(&new.lan, &lan.interface).is_none() {
            result.lans_removed.push(lan.interface.clone());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_str;

    fn load(src: &str) -> Config {
        parse_str(src, "d.toml").unwrap().config
    }

    #[test]
    fn identical_configs_have_an_empty_diff() {
        let a = load("[wan]\n[[lan]]\n");
        assert!(diff(&a, &a.clone()).is_empty());
    }

    #[test]
    fn reports_each_changed_part() {
        let old = load("[wan]\n[[lan]]\n[[lan]]\ninterface = \"br1\"\nipv4 = false\n");
        let new = load(
            "[wan]\nmtu = 1400\n[[lan]]\ninterface = \"br1\"\nipv4 = false\nsubnet_id = 2\n\
             [[lan]]\ninterface = \"br2\"\nsubnet_id = 3\nipv4 = false\n[lan.ra]\npreference = \"high\"\n\
             [dns]\ncache_size = 0\n",
        );
        let d = diff(&old, &new);
        assert!(d.wan && d.dns && !d.system && !d.firewall);
        assert_eq!(d.lans_added, vec!["br2"]);
        assert_eq!(d.lans_removed, vec!["br0"]);
        // br1 kept its settings (subnet_id 2 was its default as second LAN).
        assert!(d.lans_changed.is_empty(), "{d:?}");
    }

    /// A new closed-prefix list is a `[wan]` change (the report says so),
    /// though the WAN daemon's slice leaves it out (cpe-bus registry).
    #[test]
    fn closed_prefixes_are_part_of_the_wan() {
        let old = load("[wan]\n[[lan]]\n");
        let new = load("[wan]\nclosed_prefixes = []\n[[lan]]\n");
        assert!(diff(&old, &new).wan);
    }

    #[test]
    fn lan_setting_change_is_reported_by_interface() {
        let old = load("[wan]\n[[lan]]\n");
        let new = load("[wan]\n[[lan]]\n[lan.ra]\nmax_interval = 60\n");
        let d = diff(&old, &new);
        assert_eq!(d.lans_changed, vec!["br0"]);
        assert!(!d.wan);
    }
}
