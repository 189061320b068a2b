// Decrypts cipher-text.properties the way Carbon's Secure Vault does: the node's JKS keystore opened with the
// keystore password (read from a UTF-8 file), its "wso2carbon" key, Cipher.getInstance("RSA"), base64 values.
// Usage: java VaultCheck.java <wso2carbon.jks> <cipher-text.properties> <password file>
// Prints one line per encrypted alias: alias TAB base64(plain text as UTF-8), so the test compares bytes.
import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.util.Base64;
import java.util.Properties;
import java.util.TreeSet;
import javax.crypto.Cipher;

public class VaultCheck {
    public static void main(String[] args) throws Exception {
        char[] password = new String(Files.readAllBytes(Paths.get(args[2])), StandardCharsets.UTF_8)
                .replaceAll("[\\r\\n]+$", "").toCharArray();
        KeyStore ks = KeyStore.getInstance("JKS");
        try (InputStream in = new FileInputStream(args[0])) {
            ks.load(in, password);
        }
        PrivateKey key = (PrivateKey) ks.getKey("wso2carbon", password);
        Properties values = new Properties();
        try (InputStream in = new FileInputStream(args[1])) {
            values.load(in);
        }
        Cipher cipher = Cipher.getInstance("RSA");
        cipher.init(Cipher.DECRYPT_MODE, key);
        for (String alias : new TreeSet<>(values.stringPropertyNames())) {
            String value = values.getProperty(alias).trim();
            if (value.startsWith("[")) {
                continue; // a plain-text default of the shipped file
            }
            byte[] plain = cipher.doFinal(Base64.getDecoder().decode(value));
            System.out.println(alias + "\t" + Base64.getEncoder().encodeToString(plain));
        }
    }
}
