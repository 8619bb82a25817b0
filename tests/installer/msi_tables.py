#!/usr/bin/python3
"""msi.tables: the built MSIs, table by table (msiinfo export).

Both packages: per machine (ALLUSERS=1), the version of the build, the fixed UpgradeCode,
a major-upgrade Upgrade table, only HKLM rows (no per-user HKCU row), no custom action,
the files of dist/ (same sizes, so a stale package fails), the add-in registered with
exactly the rows addin/register.c writes, the Run value, the Event Log source and the
Start menu shortcut. x64: the 64-bit components with the 64-bit attribute, the add-in
registered in both views. x86: 32-bit components only, refuses 64-bit Windows.

  msi_tables.py --source DIR --dist DIR --version X.Y.Z
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import msi_common as mc  # noqa: E402


def check_package(c, msi, arch, args, defs, expected_addin):
    c.note("%s package: %s" % (arch, msi))
    tables = mc.msiinfo_tables(msi)
    suminfo = mc.msiinfo_suminfo(msi)
    c.check(suminfo.get("Template") == ("x64;1033" if arch == "x64" else "Intel;1033"),
            "%s: summary Template is %r" % (arch, suminfo.get("Template")))

    props = mc.properties(msi)
    c.check(props.get("ALLUSERS") == "1", "%s: ALLUSERS=1 (per machine), got %r"
            % (arch, props.get("ALLUSERS")))
    c.check(props.get("ProductVersion") == args.version, "%s: ProductVersion %r is the "
            "build's %s" % (arch, props.get("ProductVersion"), args.version))
    c.check(props.get("UpgradeCode") == mc.UPGRADE_CODES[arch],
            "%s: UpgradeCode %r never changes (%s)" % (arch, props.get("UpgradeCode"),
                                                      mc.UPGRADE_CODES[arch]))
    c.check(props.get("ProductName") == "XOAuth Bridge", "%s: ProductName" % arch)
    c.check(props.get("ProductCode", "").startswith("{"), "%s: a ProductCode" % arch)

    # --- components and their bitness ---
    comps = {r["Component"]: r for r in mc.msiinfo_export(msi, "Component")}
    if arch == "x64":
        want64 = {"Companion", "Addin64", "Addin32File", "Autostart", "EventLogSource"}
        want32 = {"Addin32Registry"}
    else:
        want64 = set()
        want32 = {"Companion", "Addin32", "Autostart", "EventLogSource"}
    c.check(set(comps) == want64 | want32, "%s: components %s" % (arch, sorted(comps)))
    for name, row in comps.items():
        is64 = int(row["Attributes"]) & mc.MSIDB_COMPONENT_64BIT != 0
        c.check(is64 == (name in want64), "%s: component %s is %s-bit (Win64 %s)"
                % (arch, name, "64" if is64 else "32", "yes" if name in want64 else "no"))
        c.check(row["ComponentId"].startswith("{"), "%s: component %s has a GUID" % (arch, name))

    # --- files: present, in the right component, the size of what dist/ holds ---
    files = {r["File"]: r for r in mc.msiinfo_export(msi, "File")}
    if arch == "x64":
        want_files = {
            "CompanionExe": ("Companion", "xoauthbridge.exe", "win64"),
            "Addin64Dll": ("Addin64", "xoauthbridge-addin64.dll", "win64"),
            "Addin32Dll": ("Addin32File", "xoauthbridge-addin32.dll", "win32"),
        }
    else:
        want_files = {
            "CompanionExe": ("Companion", "xoauthbridge.exe", "win32"),
            "Addin32Dll": ("Addin32", "xoauthbridge-addin32.dll", "win32"),
        }
    c.check(set(files) == set(want_files), "%s: files %s" % (arch, sorted(files)))
    for fid, (comp, name, tree) in want_files.items():
        row = files.get(fid)
        if not c.check(row is not None, "%s: file %s present" % (arch, fid)):
            continue
        c.check(row["Component_"] == comp and row["FileName"] == name,
                "%s: file %s is %s in %s (got %s in %s)"
                % (arch, fid, name, comp, row["FileName"], row["Component_"]))
        built = os.path.join(args.dist, tree, name)
        size = os.path.getsize(built) if os.path.isfile(built) else None
        c.check(size is not None and int(row["FileSize"]) == size,
                "%s: %s in the MSI has %s bytes, %s has %s: rebuild the MSIs "
                "(scripts/build-msi.sh)" % (arch, name, row["FileSize"], built, size))
        c.check(comps.get(comp, {}).get("KeyPath") == fid,
                "%s: %s is the key path of %s" % (arch, fid, comp))

    hashes = {r["File_"]: r for r in mc.msiinfo_export(msi, "MsiFileHash")}
    for fid, (comp, name, tree) in want_files.items():
        built = os.path.join(args.dist, tree, name)
        h = hashes.get(fid)
        same = (h is not None and os.path.isfile(built) and
                [int(h["HashPart%d" % i]) for i in range(1, 5)] == mc.msi_file_hash(built))
        c.check(same, "%s: %s in the MSI is %s (MsiFileHash): if not, the MSI is older than "
                "dist/: run scripts/build-msi.sh" % (arch, name, built))

    # --- registry: HKLM only, and exactly the expected rows per component ---
    reg = mc.msiinfo_export(msi, "Registry")
    for r in reg:
        c.check(int(r["Root"]) == mc.HKLM, "%s: registry row %s %s\\%s is under HKLM "
                "(Root=2), not Root=%s (1 is HKCU: nothing per user in a per-machine MSI)"
                % (arch, r["Registry"], r["Key"], r["Name"], r["Root"]))
    by_comp = {}
    for r in reg:
        t, v = mc.msi_registry_value(r["Value"])
        by_comp.setdefault(r["Component_"], set()).add((r["Key"], r["Name"], t, v))

    def addin_rows(dll_id):
        return {(k, n, t, "[#%s]" % dll_id if v == mc.DLL else v) for k, n, t, v in expected_addin}

    if arch == "x64":
        views = {"Addin64": "Addin64Dll", "Addin32Registry": "Addin32Dll"}
    else:
        views = {"Addin32": "Addin32Dll"}
    for comp, dll in views.items():
        got, want = by_comp.get(comp, set()), addin_rows(dll)
        c.check(got == want, "%s: %s registers the add-in exactly as addin/register.c does"
                "%s%s" % (arch, comp,
                          "".join("\n#   missing %s" % (x,) for x in sorted(want - got)),
                          "".join("\n#   extra   %s" % (x,) for x in sorted(got - want))))
    run_key = "Software\\Microsoft\\Windows\\CurrentVersion\\Run"
    c.check(by_comp.get("Autostart") ==
            {(run_key, "XOAuthBridge", "sz", '"[INSTALLDIR]xoauthbridge.exe" tray --autostart')},
            "%s: Autostart is HKLM\\%s XOAuthBridge = \"[INSTALLDIR]xoauthbridge.exe\" tray "
            "--autostart (got %s)"
            % (arch, run_key, by_comp.get("Autostart")))
    ev_key = "SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\XOAuthBridge"
    c.check(by_comp.get("EventLogSource") ==
            {(ev_key, "EventMessageFile", "expand_sz", "[#CompanionExe]"),
             (ev_key, "TypesSupported", "dword", "7")},
            "%s: Event Log source rows (got %s)" % (arch, by_comp.get("EventLogSource")))
    c.check(set(by_comp) <= set(views) | {"Autostart", "EventLogSource"},
            "%s: no registry rows in other components (%s)" % (arch, sorted(by_comp)))

    # --- upgrade: major upgrade by UpgradeCode, downgrade refused ---
    ups = mc.msiinfo_export(msi, "Upgrade")
    for u in ups:
        c.check(u["UpgradeCode"] == mc.UPGRADE_CODES[arch],
                "%s: Upgrade row for our own UpgradeCode (%s)" % (arch, u["UpgradeCode"]))
    older = [u for u in ups if u["VersionMin"] == "" and u["VersionMax"] == args.version
             and int(u["Attributes"]) & 2 == 0]
    newer = [u for u in ups if u["VersionMin"] == args.version and u["VersionMax"] == ""
             and int(u["Attributes"]) & 2]
    major, minor, patch = args.version.split(".")
    next_version = "%s.%s.%d" % (major, minor, int(patch) + 1)
    same = [u for u in ups if u["VersionMin"] == args.version and u["VersionMax"] == next_version
            and int(u["Attributes"]) & 0x302 == 0x100]
    c.check(len(older) == 1, "%s: an Upgrade row that removes older versions" % arch)
    c.check(len(newer) == 1, "%s: an Upgrade row that detects newer versions (only detect)" % arch)
    c.check(len(same) == 1, "%s: an Upgrade row that replaces a rebuild of the same version" % arch)
    c.check("WIX_UPGRADE_DETECTED" in props.get("SecureCustomProperties", ""),
            "%s: upgrade properties are secure" % arch)
    seq = {r["Action"]: r for r in mc.msiinfo_export(msi, "InstallExecuteSequence")}
    c.check("FindRelatedProducts" in seq and "RemoveExistingProducts" in seq,
            "%s: FindRelatedProducts and RemoveExistingProducts are sequenced" % arch)
    conds = {r["Condition"]: r["Description"] for r in mc.msiinfo_export(msi, "LaunchCondition")}
    c.check("NOT WIX_DOWNGRADE_DETECTED" in conds, "%s: a newer version is not downgraded" % arch)
    c.check("Privileged" in conds, "%s: only an administrator (or GPO) installs it" % arch)
    c.check(("Installed OR NOT VersionNT64" in conds) == (arch == "x86"),
            "%s: %s" % (arch, "refuses 64-bit Windows" if arch == "x86"
                        else "no 32-bit-only condition"))

    # --- two custom actions: the uninstall's restore of Outlook accounts ---
    cas = {r["Action"]: r for r in (mc.msiinfo_export(msi, "CustomAction")
                                    if "CustomAction" in tables else [])}
    # 18 = an EXE installed by the package; +64 ignore its exit code; +1024 deferred
    # (in the script); +2048 no impersonation (SYSTEM).
    own, every = cas.get("RestoreOutlookAccounts", {}), cas.get("RestoreAllUsersOutlookAccounts", {})
    c.check(set(cas) == {"RestoreOutlookAccounts", "RestoreAllUsersOutlookAccounts"},
            "%s: two custom actions, both restores: %s" % (arch, sorted(cas)))
    c.check(int(own.get("Type", 0)) == 18 + 64 + 1024 and own.get("Source") == "CompanionExe"
            and own.get("Target") == "restore --all",
            "%s: RestoreOutlookAccounts runs `xoauthbridge restore --all`, deferred, "
            "impersonated (the person's HKCU), never fatal: %s" % (arch, own))
    c.check(int(every.get("Type", 0)) == 18 + 64 + 1024 + 2048
            and every.get("Source") == "CompanionExe" and every.get("Target") == "restore --all-users",
            "%s: RestoreAllUsersOutlookAccounts runs `xoauthbridge restore --all-users`, deferred, "
            "not impersonated (SYSTEM: every profile), never fatal: %s" % (arch, every))
    rows = [seq.get(a, {}) for a in ("RestoreOutlookAccounts", "RestoreAllUsersOutlookAccounts")]
    for row in rows:
        c.check(row.get("Condition") == 'REMOVE="ALL" AND NOT UPGRADINGPRODUCTCODE'
                and int(seq["InstallInitialize"]["Sequence"]) < int(row.get("Sequence", 0))
                < int(seq["RemoveFiles"]["Sequence"]),
                "%s: it runs at uninstall only (not on upgrade), in the script before the files "
                "go: %s" % (arch, row))
    c.check(int(rows[0].get("Sequence", 0)) < int(rows[1].get("Sequence", 0)),
            "%s: the person's own restore first, then every profile's: %s" % (arch, rows))

    # --- Start menu ---
    sc = mc.msiinfo_export(msi, "Shortcut")
    c.check(len(sc) == 1 and sc[0]["Directory_"] == "ProgramMenuFolder"
            and sc[0]["Target"] == "[#CompanionExe]" and sc[0]["Component_"] == "Companion",
            "%s: one Start menu shortcut to the companion (got %s)" % (arch, sc))

    # --- where it goes ---
    dirs = {r["Directory"]: r for r in mc.msiinfo_export(msi, "Directory")}
    pf = "ProgramFiles64Folder" if arch == "x64" else "ProgramFilesFolder"
    c.check(dirs.get("INSTALLDIR", {}).get("Directory_Parent") == pf
            and dirs["INSTALLDIR"]["DefaultDir"] == "XOAuth Bridge",
            "%s: installs into [%s]XOAuth Bridge" % (arch, pf))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--dist", required=True)
    ap.add_argument("--version", required=True)
    args = ap.parse_args()

    mc.need_tool("msiinfo")
    c = mc.Checks("msi.tables")
    defs = mc.names(args.source)
    expected_addin = mc.register_rows(args.source, defs)
    c.note("addin/register.c writes %d values" % len(expected_addin))
    for arch in ("x64", "x86"):
        check_package(c, mc.msi_path(args.dist, args.version, arch), arch, args, defs,
                      expected_addin)
    x64 = mc.properties(mc.msi_path(args.dist, args.version, "x64"))
    x86 = mc.properties(mc.msi_path(args.dist, args.version, "x86"))
    c.check(x64["UpgradeCode"] != x86["UpgradeCode"], "x64 and x86 have their own UpgradeCode")
    c.check(x64["ProductCode"] != x86["ProductCode"], "x64 and x86 have their own ProductCode")
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
