fn main() -> anyhow::Result<()> {
    anyhow::bail!("tr-intake: the runtime arrives with the local host issue")
}
